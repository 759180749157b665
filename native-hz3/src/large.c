/*
 * large.c: objects above HZ3_RUN_MAX (1004 KiB), each in an extent of
 * pages of its own outside segments, carved from address space that
 * large_extent.c keeps mapped across frees (a freed extent is reused in
 * place, decommitted after the purge delay, and unmapped only over a
 * bound: see there).
 *
 * Every live object is in a hash table that holds its extent too, which is
 * how free() knows a pointer is ours and is the start of an object. hz3
 * writes nothing into a large object's pages: a header there cost a cache
 * and TLB miss (often a page fault) on every malloc, free and
 * malloc_usable_size of a cold buffer (together 12% of malloc_large). The
 * table hashes with the high bits of a multiplicative hash (objects are
 * page-aligned: low bits would put them all in a few slots); a delete
 * leaves no mark behind (the old table kept its deleted marks until it
 * doubled, and lookups walked them: _hz3_large_usable was 5% of
 * malloc_large).
 *
 * An object starts HDR bytes into its extent (so the default alignment is
 * 64, as when a header sat there; the bytes stay unwritten), or at the
 * first multiple of a larger alignment asked for past them. Requests round up to 8 steps
 * per power of two, so that a freed extent fits the next request of about
 * its size (at most 12.5% of address space; the untouched tail costs no
 * memory). The census reads the residency of every live and cached extent
 * (mincore) and counts each page once; hz3_mappings lists them all.
 */
#include <errno.h>
#include <string.h>
#include "large.h"

#define HDR 64u

/* p: the object (0: empty slot); map, size: its extent. */
typedef struct { uintptr_t p; uint8_t *map; size_t size; } entry_t;

static pthread_mutex_t large_lock = PTHREAD_MUTEX_INITIALIZER;
static entry_t *table;             /* open addressing, linear probing */
static size_t table_cap, table_live;
static unsigned table_shift;       /* 64 - log2(table_cap) */
static size_t live_bytes;
/* The most live bytes seen in the current window of purge_delay_ms and in
 * the one before it (cache_bound below takes its bound from them). */
static size_t peak_now, peak_before;
static uint64_t peak_since_ms;

void _hz3_large_lock(void) { pthread_mutex_lock(&large_lock); }
void _hz3_large_unlock(void) { pthread_mutex_unlock(&large_lock); }
void _hz3_large_after_fork_child(void) { pthread_mutex_init(&large_lock, NULL); }

static inline size_t hash(uintptr_t p) { return (size_t)(((p >> HZ3_PAGE_SHIFT) * 0x9e3779b97f4a7c15ull) >> table_shift); }

static size_t round_map_size(size_t bytes)
{
    bytes = _hz3_align_up(bytes, HZ3_PAGE_SIZE);
    if (bytes <= 16 * HZ3_PAGE_SIZE) return bytes;
    unsigned top = 63u - (unsigned)__builtin_clzll(bytes);
    size_t step = (size_t)1 << (top - 3);
    return _hz3_align_up(bytes, step);
}

/* Rebuilds the table at 4 slots per live object or more (1024 at least). */
static bool table_rebuild(void)
{
    unsigned bits = 10;
    while (((size_t)1 << bits) < 4 * (table_live + 1)) bits++;
    size_t ncap = (size_t)1 << bits;
    entry_t *nt = _hz3_os_map(ncap * sizeof *nt);
    if (!nt) return false;
    table_shift = 64 - bits;
    for (size_t i = 0; i < table_cap; i++) {
        if (!table[i].p) continue;
        size_t j = hash(table[i].p);
        while (nt[j].p) j = (j + 1) & (ncap - 1);
        nt[j] = table[i];
    }
    if (table) _hz3_os_unmap(table, table_cap * sizeof *table);
    table = nt;
    table_cap = ncap;
    return true;
}

/* Room for one more insert: false when the table cannot be rebuilt. */
static bool table_room(void)
{
    return (table_live + 1) * 2 <= table_cap || table_rebuild();
}

static void table_insert(entry_t e)   /* after table_room() */
{
    size_t j = hash(e.p);
    while (table[j].p) j = (j + 1) & (table_cap - 1);
    table[j] = e;
    table_live++;
}

static entry_t *table_find(uintptr_t p)
{
    if (!table_cap || !p) return NULL;
    for (size_t j = hash(p); table[j].p; j = (j + 1) & (table_cap - 1))
        if (table[j].p == p) return &table[j];
    return NULL;
}

/* Deletes by moving later entries of the probe run back into the hole, so
 * that no deleted marks pile up: lookups stay short and the table is never
 * rebuilt (a mapping made and one unmapped) just to drop them. */
static void table_erase(entry_t *slot)
{
    size_t hole = (size_t)(slot - table), mask = table_cap - 1;
    for (size_t j = (hole + 1) & mask; table[j].p; j = (j + 1) & mask) {
        size_t home = hash(table[j].p);
        /* Entry j may move to the hole unless its home lies cyclically in (hole, j]. */
        bool stays = hole < j ? home > hole && home <= j : home > hole || home <= j;
        if (!stays) {
            table[hole] = table[j];
            hole = j;
        }
    }
    table[hole].p = 0;
    table_live--;
}

/* Under the lock, after live_bytes changed. */
static void note_live(uint64_t now_ms)
{
    uint64_t window = _hz3_cfg.purge_delay_ms ? _hz3_cfg.purge_delay_ms : 1;
    if (now_ms - peak_since_ms >= window) {
        peak_before = now_ms - peak_since_ms >= 2 * window ? live_bytes : peak_now;
        peak_now = live_bytes;
        peak_since_ms = now_ms;
    }
    if (live_bytes > peak_now) peak_now = live_bytes;
}

/* The cache's bound: max(HZ3_LARGE_CACHE_MIN_BYTES, live >>
 * HZ3_LARGE_CACHE_LIVE_SHIFT, recent peak - live), the last term only while
 * the live bytes are at least an eighth of that peak. It keeps what a
 * swinging live set let go while the large footprint stays within the peak
 * its live objects reached in the last one or two purge delays: memory
 * does not grow by it, and the extents are there for the objects that
 * replace them. large_churn (16 buffers of 64 KiB-64 MiB, every page
 * written: the live bytes swing by a factor of 2-3) faulted 357k pages in
 * 300 replacements with a bound of half the live bytes, 148k with this one
 * (tcmalloc 95k), at the same peak RSS. Capping the term at the live bytes
 * (260k faults) or twice them (223k), or dropping it under 64 MiB live
 * (212k), lost most of that: the dips are when the big extents must stay.
 * A process that let most of its large objects go keeps no more than
 * before, and past the purge delay cached extents go back as before. Only
 * while the extents given back were dense (large.h, _hz3_large_dense).
 * Under the lock. */
static size_t cache_bound(void)
{
    size_t b = live_bytes >> HZ3_LARGE_CACHE_LIVE_SHIFT, peak = peak_now > peak_before ? peak_now : peak_before;
    size_t swing = live_bytes >= peak / 8 && _hz3_large_dense() ? peak - live_bytes : 0;
    if (b < HZ3_LARGE_CACHE_MIN_BYTES) b = HZ3_LARGE_CACHE_MIN_BYTES;
    return swing > b ? swing : b;
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
    size_t need = plain ? round_map_size(off + size) : _hz3_align_up(off + size + align, HZ3_PAGE_SIZE);
    hz3_extent_t e, out[HZ3_EXTENT_OUT];
    size_t fresh, n;

    /* The common case: free address space of ours, under one lock. */
    pthread_mutex_lock(&large_lock);
    if (!table_room()) {
        pthread_mutex_unlock(&large_lock);
        errno = ENOMEM;
        return NULL;
    }
    bool taken = _hz3_extent_take(need, &e, &fresh);
    size_t live = live_bytes;
    if (!taken) {
        pthread_mutex_unlock(&large_lock);
        if (!_hz3_extent_map(need, live, &e)) {
            errno = ENOMEM;
            return NULL;
        }
        fresh = e.size;
        pthread_mutex_lock(&large_lock);
        _hz3_extent_fresh(e);
        if (!table_room()) {   /* no memory for a bigger table */
            n = _hz3_extent_give(e, cache_bound(), out);
            live = live_bytes;
            pthread_mutex_unlock(&large_lock);
            _hz3_extent_release(out, n, live);
            errno = ENOMEM;
            return NULL;
        }
    }
    uint8_t *obj = plain ? e.map + HDR : (uint8_t *)_hz3_align_up((uintptr_t)e.map + HDR, align);
    table_insert((entry_t){ (uintptr_t)obj, e.map, e.size });
    live_bytes += e.size;
    note_live(_hz3_now_ms());
    n = 0;
    bool all_fresh = fresh == e.size;
    if (fresh && _hz3_large_dense()) fresh -= _hz3_extent_fill(live_bytes, out, &n);
    if (all_fresh && fresh) n = _hz3_extent_drain(fresh, out, n);
    live = live_bytes;
    pthread_mutex_unlock(&large_lock);
    if (n) _hz3_extent_release(out, n, live);
    if (zero && fresh < e.size) memset(obj, 0, size);
    return obj;
}

bool _hz3_large_free(void *p)
{
    _hz3_epoch_tick();
    hz3_extent_t out[HZ3_EXTENT_OUT];
    pthread_mutex_lock(&large_lock);
    entry_t *slot = table_find((uintptr_t)p);
    if (!slot) {
        pthread_mutex_unlock(&large_lock);
        return false;
    }
    hz3_extent_t e = { slot->map, slot->size, _hz3_now_ms() };
    table_erase(slot);
    _hz3_freed_note(p);
    live_bytes -= e.size;
    note_live(e.since_ms);
    size_t n = _hz3_extent_give(e, cache_bound(), out), live = live_bytes;
    pthread_mutex_unlock(&large_lock);
    if (n) _hz3_extent_release(out, n, live);
    return true;
}

size_t _hz3_large_usable(const void *p)
{
    pthread_mutex_lock(&large_lock);
    entry_t *slot = table_find((uintptr_t)p);
    size_t n = slot ? (size_t)(slot->map + slot->size - (uint8_t *)p) : 0;
    pthread_mutex_unlock(&large_lock);
    return n;
}

void *_hz3_large_realloc(void *p, size_t size)
{
    /* Grow a plain object into the free range after it, shrink it by
     * giving its tail back, or move it with mremap: no copy through user
     * space. */
    if (size <= HZ3_MEDIUM_MAX || size > ((size_t)1 << 46)) return NULL;
    size_t need = round_map_size(HDR + size);
    hz3_extent_t out[HZ3_EXTENT_OUT];
    size_t n = 0, live;
    pthread_mutex_lock(&large_lock);
    entry_t *slot = table_find((uintptr_t)p);
    if (!slot || slot->map + HDR != p) {   /* not ours, or aligned: the caller copies */
        pthread_mutex_unlock(&large_lock);
        return NULL;
    }
    size_t old_size = slot->size;
    hz3_extent_t e = { slot->map, old_size, 0 };
    if (need < old_size) {
        uint64_t now = _hz3_now_ms();
        live_bytes -= old_size - need;
        note_live(now);
        n = _hz3_extent_give((hz3_extent_t){ e.map + need, old_size - need, now }, cache_bound(), out);
        e.size = need;
    } else if (need > old_size && !_hz3_extent_grow(&e, need)) {
        /* Make room in the table first, so that the insert cannot fail. An
         * extent across two kernel mappings cannot move: the caller copies. */
        uint8_t *map = table_room() ? _hz3_os_remap(e.map, old_size, need) : NULL;
        if (!map) {
            pthread_mutex_unlock(&large_lock);
            return NULL;
        }
        table_erase(table_find((uintptr_t)p));
        table_insert((entry_t){ (uintptr_t)map + HDR, map, need });
        slot = table_find((uintptr_t)map + HDR);
        p = map + HDR;
        e.map = map;
        e.size = need;
    }
    if (e.size > old_size) {
        live_bytes += e.size - old_size;
        note_live(_hz3_now_ms());
    }
    slot->size = e.size;
    live = live_bytes;
    pthread_mutex_unlock(&large_lock);
    if (n) _hz3_extent_release(out, n, live);
    return p;
}

/* Decommits cached extents that stayed unused for delay_ms (all with 0). */
void _hz3_large_purge(uint64_t now_ms, uint64_t delay_ms, struct hz3_epoch_info *info)
{
    if (delay_ms == 0) {   /* a full purge: the cache starts over from the live bytes */
        pthread_mutex_lock(&large_lock);
        peak_now = peak_before = live_bytes;
        peak_since_ms = now_ms;
        pthread_mutex_unlock(&large_lock);
    }
    info->large_unmapped += _hz3_extent_purge(now_ms, delay_ms, live_bytes);
}

void _hz3_large_stats(struct hz3_stats *st)
{
    pthread_mutex_lock(&large_lock);
    st->large_count = table_live;
    st->large_bytes = live_bytes;
    _hz3_extent_stats(st);
    pthread_mutex_unlock(&large_lock);
}

/* Calls fn for the hash table's mapping and every live and cached mapping,
 * under the lock. */
static void each_mapping(void (*fn)(uintptr_t start, uintptr_t end, void *arg), void *arg)
{
    if (table) fn((uintptr_t)table, (uintptr_t)table + _hz3_align_up(table_cap * sizeof *table, HZ3_PAGE_SIZE), arg);
    for (size_t i = 0; i < table_cap; i++)
        if (table[i].p) fn((uintptr_t)table[i].map, (uintptr_t)table[i].map + table[i].size, arg);
    _hz3_extent_each_cached(fn, arg);
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
    for (size_t i = 0; i < table_cap && !found; i++)
        found = table[i].p && p >= (uintptr_t)table[i].map && p < (uintptr_t)table[i].map + table[i].size;
    found = found || _hz3_extent_cached_owns(p);
    pthread_mutex_unlock(&large_lock);
    return found;
}
