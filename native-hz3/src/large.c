/*
 * large.c: objects above HZ3_RUN_MAX (1004 KiB), each in an extent of
 * pages of its own outside segments.
 *
 * A 64-byte header sits just before the object (so the default alignment is
 * 64); every live object is also in a hash set, which is how free() knows a
 * pointer is ours and is the start of an object.
 *
 * Freed extents are kept, resident, in a cache of free extents and handed
 * out again without a syscall (the JVM frees and allocates direct buffers of
 * 1-64 MiB all the time; a fresh mapping costs an mmap, a munmap and a page
 * fault per page). The cache is a small array searched whole under the lock
 * (at most HZ3_LARGE_CACHE_SLOTS entries, against objects of a MiB or more):
 *   - a request takes the smallest cached extent that fits (best fit); an
 *     extent much bigger than the request is split, the rest stays cached;
 *   - when no cached extent is big enough, the biggest one grows to the
 *     request (mremap: one syscall that keeps its resident pages, where a
 *     fresh mapping would fault in every page);
 *   - a freed extent merges with cached extents next to it in the address
 *     space (pieces of one split mapping find each other again);
 *   - the cache holds at most max(HZ3_LARGE_CACHE_MIN_BYTES, live large
 *     bytes >> HZ3_LARGE_CACHE_LIVE_SHIFT): the oldest extents are unmapped
 *     to make room, and an extent bigger than the bound is unmapped at once;
 *   - an epoch unmaps extents that stayed unused for purge_delay_ms (all of
 *     them on hz3_purge_now / malloc_trim). Unlike the page pool's purge, it
 *     keeps no working set: on the JVM churn workload that cost 4 MiB of RSS
 *     mean for 1% fewer faults (bench/RESULTS.md, 2026-12-03).
 * Extents never overlap, so the census reads the residency of every live
 * and cached extent (mincore) and counts each page once; hz3_mappings
 * lists them all. A split extent is a part of a kernel mapping: munmap and
 * mremap work on parts. Fresh mappings round up to 8 steps per power of
 * two (at most 12.5% of address space; the untouched tail costs no memory).
 */
#include <errno.h>
#include <string.h>
#include "hz3_internal.h"

#define LARGE_MAGIC 0x687a336c61726765ull /* "hz3large" */
#define HDR 64u

typedef struct large_hdr {
    uint64_t magic;
    uint8_t *map;            /* the object's extent */
    size_t map_size;
    size_t usable;
    bool plain;              /* object at map + HDR */
    bool no_remap;           /* the extent's, kept while it is live */
    uintptr_t origin;
} large_hdr_t;
_Static_assert(sizeof(large_hdr_t) <= HDR, "header must fit");

/* origin: where the kernel mapping the extent is part of started (the
 * pieces of one split extent share it). An extent merged from pieces of two
 * mappings spans two kernel mappings, which mremap refuses to move: it is
 * marked no_remap (so is one on which mremap failed), still handed out,
 * but not grown again. */
typedef struct { uint8_t *map; size_t size; uint64_t since_ms; uintptr_t origin; bool no_remap; } extent_t;

static pthread_mutex_t large_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t *table;           /* open addressing; 0 empty, 1 deleted */
static size_t table_cap, table_used, table_live;
static size_t live_bytes;
static extent_t cache[HZ3_LARGE_CACHE_SLOTS];   /* free extents, unordered */
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

/* ---- the cache of free extents (under large_lock) ---- */

static void cache_remove(size_t i)
{
    cache_bytes -= cache[i].size;
    cache[i] = cache[--cache_n];
}

/* Takes need bytes from the smallest cached extent that holds them, into
 * *got; false when none does. The rest of a much bigger extent (an eighth
 * of the request or more) stays cached; a smaller rest goes with the
 * object, which is as cheap as keeping it and splits no mapping for it. */
static bool cache_take(size_t need, extent_t *got)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < cache_n; i++)
        if (cache[i].size >= need && (best == SIZE_MAX || cache[i].size < cache[best].size)) best = i;
    if (best == SIZE_MAX) return false;
    extent_t *e = &cache[best];
    if (e->size - need >= need / 8) {
        *got = (extent_t){ e->map, need, e->since_ms, e->origin, e->no_remap };
        e->map += need;
        e->size -= need;
        cache_bytes -= need;
    } else {
        *got = *e;
        cache_remove(best);
    }
    return true;
}

/* Removes the biggest cached extent that mremap can grow into *got; false
 * when there is none. */
static bool cache_take_biggest(extent_t *got)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < cache_n; i++)
        if (!cache[i].no_remap && (best == SIZE_MAX || cache[i].size > cache[best].size)) best = i;
    if (best == SIZE_MAX) return false;
    *got = cache[best];
    cache_remove(best);
    return true;
}

static size_t cache_limit(void)
{
    size_t scaled = live_bytes >> HZ3_LARGE_CACHE_LIVE_SHIFT;
    return scaled > HZ3_LARGE_CACHE_MIN_BYTES ? scaled : HZ3_LARGE_CACHE_MIN_BYTES;
}

/* Caches the free extent e, merged with its cached neighbours. Extents the
 * cache gives up (the oldest ones, to stay within its bound, or the merged
 * extent itself when it is bigger than the bound) go to out[] for the
 * caller to unmap after the lock is released; returns how many. */
static size_t cache_put(extent_t e, extent_t *out)
{
    for (size_t i = 0; i < cache_n;) {
        if (cache[i].map + cache[i].size == e.map) {
            e.map = cache[i].map;
            e.size += cache[i].size;
        } else if (e.map + e.size == cache[i].map) {
            e.size += cache[i].size;
        } else {
            i++;
            continue;
        }
        e.no_remap |= cache[i].no_remap || cache[i].origin != e.origin;
        cache_remove(i);   /* moves the last slot to i: look at i again */
    }
    size_t limit = cache_limit(), n = 0;
    if (e.size > limit) {
        out[n++] = e;
        return n;
    }
    while (cache_n == HZ3_LARGE_CACHE_SLOTS || cache_bytes + e.size > limit) {
        size_t oldest = 0;
        for (size_t i = 1; i < cache_n; i++)
            if (cache[i].since_ms < cache[oldest].since_ms) oldest = i;
        out[n++] = cache[oldest];
        cache_remove(oldest);
    }
    cache[cache_n++] = e;
    cache_bytes += e.size;
    return n;
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
    extent_t e = { NULL, map_size, 0, 0, false };
    bool fresh = true;

    extent_t small = { NULL, 0, 0, 0, false };
    if (plain) {
        pthread_mutex_lock(&large_lock);
        fresh = !cache_take(map_size, &e) && !cache_take_biggest(&small);
        pthread_mutex_unlock(&large_lock);
    }
    if (small.map) {
        /* No cached extent is big enough: grow the biggest one. mremap
         * moves its resident pages instead of a fresh mapping's faults
         * (it fails on an extent merged from two kernel mappings). */
        if ((e.map = _hz3_os_remap(small.map, small.size, map_size))) {
            e.origin = (uintptr_t)e.map;
            fresh = false;
        } else {
            extent_t gone[HZ3_LARGE_CACHE_SLOTS + 1];
            small.no_remap = true;
            pthread_mutex_lock(&large_lock);
            size_t n = cache_put(small, gone);
            pthread_mutex_unlock(&large_lock);
            for (size_t i = 0; i < n; i++) _hz3_os_unmap(gone[i].map, gone[i].size);
            fresh = true;
        }
    }

    if (fresh && !(e.map = plain ? _hz3_os_map(map_size) : _hz3_os_map_aligned(map_size, HZ3_PAGE_SIZE))) {
        errno = ENOMEM;
        return NULL;
    }
    if (fresh) e.origin = (uintptr_t)e.map;
    uint8_t *obj = plain ? e.map + HDR : (uint8_t *)_hz3_align_up((uintptr_t)e.map + HDR, align);
    large_hdr_t *h = hdr_of(obj);
    h->magic = LARGE_MAGIC;
    h->map = e.map;
    h->map_size = e.size;
    h->usable = (size_t)(e.map + e.size - obj);
    h->plain = plain;
    h->no_remap = e.no_remap;
    h->origin = e.origin;
    if (zero && !fresh) memset(obj, 0, size);

    pthread_mutex_lock(&large_lock);
    if (!table_insert((uintptr_t)obj)) {   /* no memory for a bigger table */
        pthread_mutex_unlock(&large_lock);
        _hz3_os_unmap(e.map, e.size);
        errno = ENOMEM;
        return NULL;
    }
    live_bytes += e.size;
    pthread_mutex_unlock(&large_lock);
    return obj;
}

bool _hz3_large_free(void *p)
{
    _hz3_epoch_tick();
    extent_t gone[HZ3_LARGE_CACHE_SLOTS + 1];
    pthread_mutex_lock(&large_lock);
    size_t *slot = table_find((uintptr_t)p);
    if (!slot) {
        pthread_mutex_unlock(&large_lock);
        return false;
    }
    table_erase(slot);
    _hz3_freed_note(p);
    large_hdr_t *h = hdr_of(p);
    extent_t e = { h->map, h->map_size, _hz3_now_ms(), h->origin, h->no_remap };
    live_bytes -= e.size;
    size_t n = cache_put(e, gone);
    pthread_mutex_unlock(&large_lock);
    for (size_t i = 0; i < n; i++) _hz3_os_unmap(gone[i].map, gone[i].size);
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
    if (!h->plain || h->no_remap || size <= HZ3_MEDIUM_MAX || size > ((size_t)1 << 46)) return NULL;
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
    nh->no_remap = false;   /* mremap made it one kernel mapping */
    nh->origin = (uintptr_t)map;
    live_bytes = live_bytes - old_size + map_size;
    table_insert((uintptr_t)(map + HDR));
    pthread_mutex_unlock(&large_lock);
    return map + HDR;
}

/* Unmaps cached extents that stayed unused for delay_ms (all with 0). */
void _hz3_large_purge(uint64_t now_ms, uint64_t delay_ms, struct hz3_epoch_info *info)
{
    pthread_mutex_lock(&large_lock);
    for (size_t i = 0; i < cache_n;) {
        if (delay_ms == 0 || now_ms >= cache[i].since_ms + delay_ms) {
            _hz3_os_unmap(cache[i].map, cache[i].size);
            info->large_unmapped++;
            cache_remove(i);
        } else {
            i++;
        }
    }
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
