/*
 * large.c: objects above HZ3_MEDIUM_MAX, one mapping each.
 *
 * A 64-byte header sits just before the object (so the default alignment is
 * 64); every live object is also in a hash set, which is how free() knows a
 * pointer is ours and is the start of an object. Freed mappings of the
 * plain kind (no extra alignment) are kept in a small cache, bounded in
 * slots and bytes, and reused for a request of the same rounded size.
 * Mapping sizes round up to 8 steps per power of two (at most 12.5% of
 * address space; the untouched tail costs no memory).
 */
#include <errno.h>
#include <string.h>
#include "hz3_internal.h"

#define LARGE_MAGIC 0x687a336c61726765ull /* "hz3large" */
#define HDR 64u

typedef struct large_hdr {
    uint64_t magic;
    uint8_t *map;
    size_t map_size;
    size_t usable;
    bool plain;              /* object at map + HDR: reusable from the cache */
} large_hdr_t;
_Static_assert(sizeof(large_hdr_t) <= HDR, "header must fit");

typedef struct { uint8_t *map; size_t size; uint64_t since_ms; } cache_slot_t;

static pthread_mutex_t large_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t *table;           /* open addressing; 0 empty, 1 deleted */
static size_t table_cap, table_used, table_live;
static size_t live_bytes;
static cache_slot_t cache[HZ3_LARGE_CACHE_SLOTS];
static size_t cache_n, cache_bytes;

void _hz3_large_lock(void) { pthread_mutex_lock(&large_lock); }
void _hz3_large_unlock(void) { pthread_mutex_unlock(&large_lock); }
void _hz3_large_after_fork_child(void) { pthread_mutex_init(&large_lock, NULL); }

static inline large_hdr_t *hdr_of(const void *p) { return (large_hdr_t *)((uintptr_t)p - HDR); }
static inline size_t hash(uintptr_t p) { return (size_t)((p >> 6) * 0x9e3779b97f4a7c15ull); }

static size_t round_map_size(size_t bytes)
{
    bytes = _hz3_align_up(bytes, HZ3_PAGE_SIZE);
    if (bytes <= 16 * HZ3_PAGE_SIZE) return bytes;
    unsigned top = 63u - (unsigned)__builtin_clzll(bytes);
    size_t step = (size_t)1 << (top - 3);
    return _hz3_align_up(bytes, step);
}

static bool table_grow(void)
{
    size_t ncap = table_cap ? table_cap * 2 : 1024;
    uintptr_t *nt = _hz3_os_map(ncap * sizeof *nt);
    if (!nt) return false;
    for (size_t i = 0; i < table_cap; i++) {
        uintptr_t p = table[i];
        if (p <= 1) continue;
        size_t j = hash(p) & (ncap - 1);
        while (nt[j]) j = (j + 1) & (ncap - 1);
        nt[j] = p;
    }
    if (table) _hz3_os_unmap(table, table_cap * sizeof *table);
    table = nt;
    table_cap = ncap;
    table_used = table_live;
    return true;
}

static bool table_insert(uintptr_t p)
{
    if ((table_used + 1) * 2 > table_cap && !table_grow()) return false;
    size_t j = hash(p) & (table_cap - 1);
    while (table[j] > 1) j = (j + 1) & (table_cap - 1);
    if (table[j] == 0) table_used++;
    table[j] = p;
    table_live++;
    return true;
}

static size_t *table_find(uintptr_t p)
{
    if (!table_cap) return NULL;
    size_t j = hash(p) & (table_cap - 1);
    while (table[j]) {
        if (table[j] == p) return (size_t *)&table[j];
        j = (j + 1) & (table_cap - 1);
    }
    return NULL;
}

static void table_erase(size_t *slot)
{
    *slot = 1;
    table_live--;
}

void *_hz3_large_alloc(size_t size, size_t align, bool zero)
{
    _hz3_epoch_tick();
    if (size > ((size_t)1 << 46)) {
        errno = ENOMEM;
        return NULL;
    }
    bool plain = align <= HDR;
    size_t off = plain ? HDR : _hz3_align_up(HDR, align);
    size_t map_size = plain ? round_map_size(off + size) : _hz3_align_up(off + size + align, HZ3_PAGE_SIZE);
    uint8_t *map = NULL;
    bool fresh = true;

    pthread_mutex_lock(&large_lock);
    if (plain) {
        for (size_t i = cache_n; i-- > 0;) {
            if (cache[i].size != map_size) continue;
            map = cache[i].map;
            cache[i] = cache[--cache_n];
            cache_bytes -= map_size;
            fresh = false;
            break;
        }
    }
    pthread_mutex_unlock(&large_lock);

    if (!map && !(map = plain ? _hz3_os_map(map_size) : _hz3_os_map_aligned(map_size, HZ3_PAGE_SIZE))) {
        errno = ENOMEM;
        return NULL;
    }
    uint8_t *obj = plain ? map + HDR : (uint8_t *)_hz3_align_up((uintptr_t)map + HDR, align);
    large_hdr_t *h = hdr_of(obj);
    h->magic = LARGE_MAGIC;
    h->map = map;
    h->map_size = map_size;
    h->usable = (size_t)(map + map_size - obj);
    h->plain = plain;
    if (zero && !fresh) memset(obj, 0, size);

    pthread_mutex_lock(&large_lock);
    bool ok = table_insert((uintptr_t)obj);
    if (ok) live_bytes += map_size;
    pthread_mutex_unlock(&large_lock);
    if (!ok) {
        _hz3_os_unmap(map, map_size);
        errno = ENOMEM;
        return NULL;
    }
    return obj;
}

bool _hz3_large_free(void *p)
{
    _hz3_epoch_tick();
    pthread_mutex_lock(&large_lock);
    size_t *slot = table_find((uintptr_t)p);
    if (!slot) {
        pthread_mutex_unlock(&large_lock);
        return false;
    }
    table_erase(slot);
    large_hdr_t *h = hdr_of(p);
    uint8_t *map = h->map;
    size_t map_size = h->map_size;
    live_bytes -= map_size;
    bool cached = false;
    if (h->plain && map_size <= HZ3_LARGE_CACHE_BYTES / 4) {
        /* Evict the oldest slots until the new one fits. */
        while (cache_n && (cache_n == HZ3_LARGE_CACHE_SLOTS || cache_bytes + map_size > HZ3_LARGE_CACHE_BYTES)) {
            cache_slot_t old = cache[0];
            memmove(&cache[0], &cache[1], (cache_n - 1) * sizeof cache[0]);
            cache_n--;
            cache_bytes -= old.size;
            pthread_mutex_unlock(&large_lock);
            _hz3_os_unmap(old.map, old.size);
            pthread_mutex_lock(&large_lock);
        }
        if (cache_n < HZ3_LARGE_CACHE_SLOTS && cache_bytes + map_size <= HZ3_LARGE_CACHE_BYTES) {
            cache[cache_n++] = (cache_slot_t){ map, map_size, _hz3_now_ms() };
            cache_bytes += map_size;
            cached = true;
        }
    }
    pthread_mutex_unlock(&large_lock);
    if (!cached) _hz3_os_unmap(map, map_size);
    return true;
}

size_t _hz3_large_usable(const void *p)
{
    pthread_mutex_lock(&large_lock);
    size_t n = table_find((uintptr_t)p) ? hdr_of(p)->usable : 0;
    pthread_mutex_unlock(&large_lock);
    return n;
}

void *_hz3_large_realloc(void *p, size_t size)
{
    /* Grow or shrink a plain mapping where it is, or move it with mremap:
     * no copy through user space. */
    large_hdr_t *h = hdr_of(p);
    if (!h->plain || size <= HZ3_MEDIUM_MAX || size > ((size_t)1 << 46)) return NULL;
    size_t map_size = round_map_size(HDR + size);
    pthread_mutex_lock(&large_lock);
    size_t *slot = table_find((uintptr_t)p);
    if (!slot) {
        pthread_mutex_unlock(&large_lock);
        return NULL;
    }
    if (map_size == h->map_size) {
        pthread_mutex_unlock(&large_lock);
        return p;
    }
    /* Make room in the table first, so the insert below cannot fail. */
    size_t old_size = h->map_size;
    uint8_t *map = NULL;
    if ((table_used + 1) * 2 <= table_cap || table_grow()) map = _hz3_os_remap(h->map, old_size, map_size);
    if (!map) {
        pthread_mutex_unlock(&large_lock);
        return NULL;
    }
    table_erase(table_find((uintptr_t)p));
    large_hdr_t *nh = (large_hdr_t *)map;
    nh->map = map;
    nh->map_size = map_size;
    nh->usable = map_size - HDR;
    live_bytes = live_bytes - old_size + map_size;
    table_insert((uintptr_t)(map + HDR));
    pthread_mutex_unlock(&large_lock);
    return map + HDR;
}

/* Unmaps cached mappings that stayed unused for delay_ms (all with 0). */
void _hz3_large_purge(uint64_t now_ms, uint64_t delay_ms, struct hz3_epoch_info *info)
{
    pthread_mutex_lock(&large_lock);
    size_t kept = 0;
    for (size_t i = 0; i < cache_n; i++) {
        if (now_ms - cache[i].since_ms >= delay_ms) {
            cache_bytes -= cache[i].size;
            _hz3_os_unmap(cache[i].map, cache[i].size);
            info->large_unmapped++;
        } else {
            cache[kept++] = cache[i];
        }
    }
    cache_n = kept;
    pthread_mutex_unlock(&large_lock);
}

void _hz3_large_stats(struct hz3_stats *st)
{
    pthread_mutex_lock(&large_lock);
    st->large_count = table_live;
    st->large_bytes = live_bytes;
    st->large_cached = cache_n;
    st->large_cached_bytes = cache_bytes;
    pthread_mutex_unlock(&large_lock);
}

/* Calls fn for the hash table's mapping and every live and cached mapping,
 * under the lock. */
static void each_mapping(void (*fn)(uintptr_t start, uintptr_t end, void *arg), void *arg)
{
    if (table) fn((uintptr_t)table, (uintptr_t)table + _hz3_align_up(table_cap * sizeof *table, HZ3_PAGE_SIZE), arg);
    for (size_t i = 0; i < table_cap; i++) {
        if (table[i] <= 1) continue;
        large_hdr_t *h = hdr_of((void *)table[i]);
        fn((uintptr_t)h->map, (uintptr_t)h->map + h->map_size, arg);
    }
    for (size_t i = 0; i < cache_n; i++) fn((uintptr_t)cache[i].map, (uintptr_t)cache[i].map + cache[i].size, arg);
}

typedef struct { uint64_t *out; size_t max, n; } collect_t;

static void collect_range(uintptr_t start, uintptr_t end, void *arg)
{
    collect_t *c = arg;
    if (c->n < c->max) {
        c->out[2 * c->n] = start;
        c->out[2 * c->n + 1] = end;
    }
    c->n++;
}

size_t _hz3_large_mappings(uint64_t *out, size_t max_pairs)
{
    collect_t c = { out, max_pairs, 0 };
    pthread_mutex_lock(&large_lock);
    each_mapping(collect_range, &c);
    pthread_mutex_unlock(&large_lock);
    return c.n;
}

static void add_resident(uintptr_t start, uintptr_t end, void *arg)
{
    *(size_t *)arg += _hz3_os_rss_of(start, end);
}

size_t _hz3_large_resident(void)
{
    size_t n = 0;
    pthread_mutex_lock(&large_lock);
    each_mapping(add_resident, &n);
    pthread_mutex_unlock(&large_lock);
    return n;
}

bool _hz3_large_owns(uintptr_t p)
{
    bool found = false;
    pthread_mutex_lock(&large_lock);
    for (size_t i = 0; i < table_cap && !found; i++) {
        if (table[i] <= 1) continue;
        large_hdr_t *h = hdr_of((void *)table[i]);
        found = p >= (uintptr_t)h->map && p < (uintptr_t)h->map + h->map_size;
    }
    for (size_t i = 0; i < cache_n && !found; i++)
        found = p >= (uintptr_t)cache[i].map && p < (uintptr_t)cache[i].map + cache[i].size;
    pthread_mutex_unlock(&large_lock);
    return found;
}
