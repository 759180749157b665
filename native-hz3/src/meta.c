/*
 * meta.c: memory for the allocator's own records (heaps, reservation
 * records), bump-allocated from mapped chunks and never returned: records
 * are recycled by their owners instead. Its lock is the innermost one.
 */
#include "hz3_internal.h"

#define META_CHUNK ((size_t)64 << 10)

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *meta_cur, *meta_end;
static size_t meta_bytes;

void *_hz3_meta_alloc(size_t size)
{
    size = _hz3_align_up(size, 64);
    pthread_mutex_lock(&meta_lock);
    if ((size_t)(meta_end - meta_cur) < size) {
        size_t chunk = size > META_CHUNK ? _hz3_align_up(size, HZ3_PAGE_SIZE) : META_CHUNK;
        uint8_t *p = _hz3_os_map(chunk);
        if (!p) {
            pthread_mutex_unlock(&meta_lock);
            return NULL;
        }
        meta_cur = p;
        meta_end = p + chunk;
        meta_bytes += chunk;
    }
    void *r = meta_cur;
    meta_cur += size;
    pthread_mutex_unlock(&meta_lock);
    return r;
}

size_t _hz3_meta_bytes(void)
{
    return __atomic_load_n(&meta_bytes, __ATOMIC_RELAXED);
}

void _hz3_meta_lock(void) { pthread_mutex_lock(&meta_lock); }
void _hz3_meta_unlock(void) { pthread_mutex_unlock(&meta_lock); }
void _hz3_meta_after_fork_child(void) { pthread_mutex_init(&meta_lock, NULL); }
