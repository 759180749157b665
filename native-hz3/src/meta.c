/*
 * meta.c: memory for the allocator's own records (heaps, reservation
 * records), bump-allocated from mapped chunks and never returned: records
 * are recycled by their owners instead. Each chunk starts with a link to
 * the previous one, so the census and hz3_mappings can see them all. Its
 * lock is the innermost one.
 */
#include "hz3_internal.h"

#define META_CHUNK ((size_t)64 << 10)

typedef struct meta_chunk {
    struct meta_chunk *prev;
    size_t size;
} meta_chunk_t;

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *meta_cur, *meta_end;
static meta_chunk_t *chunks;
static size_t meta_bytes;

void *_hz3_meta_alloc(size_t size)
{
    size = _hz3_align_up(size, 64);
    pthread_mutex_lock(&meta_lock);
    if ((size_t)(meta_end - meta_cur) < size) {
        size_t chunk = _hz3_align_up(size + 64, HZ3_PAGE_SIZE);
        if (chunk < META_CHUNK) chunk = META_CHUNK;
        meta_chunk_t *c = _hz3_os_map(chunk);
        if (!c) {
            pthread_mutex_unlock(&meta_lock);
            return NULL;
        }
        c->prev = chunks;
        c->size = chunk;
        chunks = c;
        meta_cur = (uint8_t *)c + 64;
        meta_end = (uint8_t *)c + chunk;
        meta_bytes += chunk;
    }
    void *r = meta_cur;
    meta_cur += size;
    pthread_mutex_unlock(&meta_lock);
    return r;
}

size_t _hz3_meta_bytes(void)
{
    pthread_mutex_lock(&meta_lock);
    size_t n = meta_bytes;
    pthread_mutex_unlock(&meta_lock);
    return n;
}

size_t _hz3_meta_resident(void)
{
    size_t n = 0;
    pthread_mutex_lock(&meta_lock);
    for (meta_chunk_t *c = chunks; c; c = c->prev) n += _hz3_os_rss_of((uintptr_t)c, (uintptr_t)c + c->size);
    pthread_mutex_unlock(&meta_lock);
    return n;
}

size_t _hz3_meta_mappings(uint64_t *out, size_t max_pairs)
{
    size_t n = 0;
    pthread_mutex_lock(&meta_lock);
    for (meta_chunk_t *c = chunks; c; c = c->prev, n++) {
        if (n < max_pairs) {
            out[2 * n] = (uintptr_t)c;
            out[2 * n + 1] = (uintptr_t)c + c->size;
        }
    }
    pthread_mutex_unlock(&meta_lock);
    return n;
}

void _hz3_meta_lock(void) { pthread_mutex_lock(&meta_lock); }
void _hz3_meta_unlock(void) { pthread_mutex_unlock(&meta_lock); }
void _hz3_meta_after_fork_child(void) { pthread_mutex_init(&meta_lock, NULL); }
