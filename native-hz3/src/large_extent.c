/*
 * large_extent.c: the free address space large objects are carved from.
 *
 * Large objects live in chunks of address space mapped for them (a chunk
 * holds several objects; one bigger than a chunk gets a chunk of its
 * own). A freed extent is never unmapped on the way: a new object in the
 * same place costs no mmap and no munmap, and no page-table set-up while
 * its tables stand (malloc_large, 5-25 MiB buffers: before this, 13% of
 * its time went to building and tearing down page tables of fresh
 * mappings, 7% to munmap and mremap; tcmalloc keeps its spans mapped
 * likewise). A free range
 * is in one of two states:
 *   - cached: freed and resident as far as it was written, handed out
 *     again first (no page faults); at most max(HZ3_LARGE_CACHE_MIN_BYTES,
 *     live large bytes >> HZ3_LARGE_CACHE_LIVE_SHIFT) bytes and
 *     HZ3_LARGE_CACHE_SLOTS ranges, the oldest decommitted to make room
 *     (of the last of them only as much as the bound asks, from its tail,
 *     if the rest still holds a large object);
 *   - spare: decommitted (no memory, reads back as zero: only its
 *     resident pages are zapped, large_decommit.c, so that the kernel
 *     keeps its page tables), its address space kept. Cached ranges become spare
 *     past the purge delay or the cache's bound; the rest of a new chunk
 *     starts spare. Spare ranges are unmapped only over a bound of their
 *     own (max(HZ3_LARGE_SPARE_MIN_BYTES, twice the live large bytes) or
 *     SPARE_SLOTS ranges), or by a full purge (hz3_purge_now, malloc_trim).
 * Neighbouring ranges of one state merge. A request takes, in order: the
 * smallest cached range that holds it (the rest of a much bigger one stays
 * cached); a cached range grown in place into the spare range next to it;
 * the smallest spare range that holds it; the smallest run of ranges of
 * both states next to each other; a new chunk.
 *
 * For the census and hz3_owns, a spare range is given back memory, as an
 * unmapped one was before: not listed, not owned, no resident page (it was
 * decommitted and nothing is handed out of it without leaving the state).
 * A range moves between states outside the lock only while it is in
 * neither list, so no one can take pages that are being decommitted.
 */
#include <string.h>
#include "large.h"

#define NONE SIZE_MAX
#define SPARE_SLOTS 256
#ifndef HZ3_LARGE_SPARE_MIN_BYTES
#define HZ3_LARGE_SPARE_MIN_BYTES ((size_t)1 << 30)
#endif
#define CHUNK_MIN ((size_t)64 << 20)
#define CHUNK_MAX ((size_t)1 << 30)
#define CHUNK_ALIGN ((size_t)2 << 20)

typedef struct { hz3_extent_t *at; size_t n, bytes, cap; } xlist_t;

static hz3_extent_t cache_slots[HZ3_LARGE_CACHE_SLOTS], spare_slots[SPARE_SLOTS];
static xlist_t cache = { cache_slots, 0, 0, HZ3_LARGE_CACHE_SLOTS };
static xlist_t spare = { spare_slots, 0, 0, SPARE_SLOTS };

static void xl_remove(xlist_t *l, size_t i)
{
    l->bytes -= l->at[i].size;
    l->at[i] = l->at[--l->n];
}

/* The smallest range of at least need bytes. */
static size_t xl_best(const xlist_t *l, size_t need)
{
    size_t best = NONE;
    for (size_t i = 0; i < l->n; i++)
        if (l->at[i].size >= need && (best == NONE || l->at[i].size < l->at[best].size)) best = i;
    return best;
}

static size_t xl_starting(const xlist_t *l, const uint8_t *start)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->at[i].map == start) return i;
    return NONE;
}

static size_t xl_ending(const xlist_t *l, const uint8_t *end)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->at[i].map + l->at[i].size == end) return i;
    return NONE;
}

static size_t xl_oldest(const xlist_t *l)
{
    size_t old = 0;
    for (size_t i = 1; i < l->n; i++)
        if (l->at[i].since_ms < l->at[old].since_ms) old = i;
    return old;
}

/* Removes the ranges of l next to e and returns e grown over them. */
static hz3_extent_t xl_merge(xlist_t *l, hz3_extent_t e)
{
    for (size_t i = 0; i < l->n;) {
        hz3_extent_t *x = &l->at[i];
        if (x->map + x->size == e.map) e.map = x->map;
        else if (e.map + e.size != x->map) {
            i++;
            continue;
        }
        e.size += x->size;
        if (x->since_ms > e.since_ms) e.since_ms = x->since_ms;
        xl_remove(l, i);   /* moves the last range to i: look at i again */
    }
    return e;
}

/* Cuts n bytes off the front (or the back) of range i of l. */
static uint8_t *xl_cut(xlist_t *l, size_t i, size_t n, bool back)
{
    hz3_extent_t *x = &l->at[i];
    uint8_t *p = back ? x->map + x->size - n : x->map;
    if (!back) x->map += n;
    x->size -= n;
    l->bytes -= n;
    if (x->size == 0) xl_remove(l, i);
    return p;
}

static size_t spare_limit(size_t live_bytes)
{
    return live_bytes * 2 > HZ3_LARGE_SPARE_MIN_BYTES ? live_bytes * 2 : HZ3_LARGE_SPARE_MIN_BYTES;
}

/* Adds decommitted e to the spare ranges; over their bound, the oldest
 * (or e itself, if it alone is over it) are unmapped. Under the lock. */
static void spare_put(hz3_extent_t e, size_t live_bytes)
{
    e = xl_merge(&spare, e);
    size_t limit = spare_limit(live_bytes);
    if (e.size > limit) {
        _hz3_os_unmap(e.map, e.size);
        return;
    }
    while (spare.n == spare.cap || spare.bytes + e.size > limit) {
        size_t old = xl_oldest(&spare);
        _hz3_os_unmap(spare.at[old].map, spare.at[old].size);
        xl_remove(&spare, old);
    }
    spare.at[spare.n++] = e;
    spare.bytes += e.size;
}

/* The last resort before a new chunk: the smallest run of free ranges
 * next to each other (cached and spare alternating) that holds need bytes,
 * taken from its start. Without it, address space fragmented into ranges
 * of both states made malloc_large map a new chunk now and then, long
 * after it had all it needed. */
static bool take_run(size_t need, hz3_extent_t *got, size_t *fresh)
{
    static hz3_extent_t all[HZ3_LARGE_CACHE_SLOTS + SPARE_SLOTS];   /* under the lock */
    size_t n = 0;
    for (size_t i = 0; i < cache.n; i++) all[n++] = cache.at[i];
    for (size_t i = 0; i < spare.n; i++) all[n++] = spare.at[i];
    /* Shell sort by address (no library call: qsort may allocate). */
    for (size_t gap = n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < n; i++)
            for (size_t j = i; j >= gap && all[j - gap].map > all[j].map; j -= gap) {
                hz3_extent_t t = all[j];
                all[j] = all[j - gap];
                all[j - gap] = t;
            }
    size_t best = NONE, best_size = SIZE_MAX;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1, run = all[i].size;
        while (j < n && all[j - 1].map + all[j - 1].size == all[j].map) run += all[j++].size;
        if (run >= need && run < best_size) {
            best = i;
            best_size = run;
        }
        i = j;
    }
    if (best == NONE) return false;
    uint8_t *start = all[best].map;
    for (size_t left = need, k = best; left > 0; k++) {
        size_t take = all[k].size < left ? all[k].size : left, idx;
        xlist_t *l = (idx = xl_starting(&cache, all[k].map)) != NONE ? &cache : &spare;
        if (l == &spare) {
            idx = xl_starting(&spare, all[k].map);
            *fresh += take;
        }
        xl_cut(l, idx, take, false);
        left -= take;
    }
    *got = (hz3_extent_t){ start, need, 0 };
    return true;
}

bool _hz3_extent_take(size_t need, hz3_extent_t *got, size_t *fresh)
{
    *fresh = 0;
    size_t i = xl_best(&cache, need);
    if (i != NONE) {
        /* A rest under an eighth of the request goes with the object:
         * keeping it would only add a range too small to serve anyone. */
        hz3_extent_t *e = &cache.at[i];
        size_t n = e->size - need >= need / 8 ? need : e->size;
        *got = (hz3_extent_t){ xl_cut(&cache, i, n, false), n, 0 };
        return true;
    }
    /* Grow a cached range into the spare one after (or before) it: its
     * resident pages are used, and the spare ones cost no mapping. */
    for (i = 0; i < cache.n; i++) {
        hz3_extent_t c = cache.at[i];
        size_t more = need - c.size, j;
        if ((j = xl_starting(&spare, c.map + c.size)) != NONE && spare.at[j].size >= more) {
            xl_cut(&spare, j, more, false);
        } else if ((j = xl_ending(&spare, c.map)) != NONE && spare.at[j].size >= more) {
            c.map = xl_cut(&spare, j, more, true);
        } else {
            continue;
        }
        *fresh = more;
        xl_remove(&cache, i);
        *got = (hz3_extent_t){ c.map, need, 0 };
        return true;
    }
    if ((i = xl_best(&spare, need)) != NONE) {
        *fresh = need;
        *got = (hz3_extent_t){ xl_cut(&spare, i, need, false), need, 0 };
        return true;
    }
    return take_run(need, got, fresh);
}

bool _hz3_extent_map(size_t need, size_t live_bytes, hz3_extent_t *got)
{
    /* Chunks grow with the live large bytes, so that a process with many
     * large objects maps a few chunks rather than one per object. */
    size_t chunk = live_bytes / 2 < CHUNK_MIN ? CHUNK_MIN : live_bytes / 2 > CHUNK_MAX ? CHUNK_MAX : live_bytes / 2;
    chunk = _hz3_align_up(chunk > need ? chunk : need, CHUNK_ALIGN);
    uint8_t *m = _hz3_os_map(chunk);
    if (!m && chunk > need) m = _hz3_os_map(chunk = need);
    if (!m) return false;
    *got = (hz3_extent_t){ m, need, 0 };
    if (chunk > need) {
        _hz3_large_lock();
        spare_put((hz3_extent_t){ m + need, chunk - need, _hz3_now_ms() }, live_bytes);
        _hz3_large_unlock();
    }
    return true;
}

bool _hz3_extent_grow(hz3_extent_t *e, size_t need)
{
    size_t more = need - e->size, j;
    uint8_t *end = e->map + e->size;
    xlist_t *l = &cache;
    if ((j = xl_starting(l, end)) == NONE || l->at[j].size < more) {
        l = &spare;
        if ((j = xl_starting(l, end)) == NONE || l->at[j].size < more) return false;
    }
    xl_cut(l, j, more, false);
    e->size = need;
    return true;
}

/* Moves at least bytes (when there are that many) from the oldest cached
 * ranges to out[n...], taking only the tail of the last one when the rest
 * of it still holds a large object: whole ranges made large_churn decommit
 * up to a range more than its bound asked for, and fault it in again.
 * Returns the new n. */
static size_t evict_oldest(size_t bytes, hz3_extent_t *out, size_t n)
{
    for (size_t done = 0; done < bytes && cache.n && n < HZ3_EXTENT_OUT;) {
        size_t old = xl_oldest(&cache), want = _hz3_align_up(bytes - done, HZ3_PAGE_SIZE);   /* the bound may be half a page */
        if (cache.at[old].size >= want + HZ3_RUN_MAX) {
            out[n++] = (hz3_extent_t){ xl_cut(&cache, old, want, true), want, 0 };
            break;
        }
        done += cache.at[old].size;
        out[n++] = cache.at[old];
        xl_remove(&cache, old);
    }
    return n;
}

size_t _hz3_extent_drain(size_t fresh, hz3_extent_t *out)
{
    return evict_oldest(fresh, out, 0);
}

size_t _hz3_extent_give(hz3_extent_t e, size_t live_bytes, hz3_extent_t *out)
{
    e = xl_merge(&cache, e);
    size_t scaled = live_bytes >> HZ3_LARGE_CACHE_LIVE_SHIFT;
    size_t limit = scaled > HZ3_LARGE_CACHE_MIN_BYTES ? scaled : HZ3_LARGE_CACHE_MIN_BYTES, n = 0;
    if (e.size > limit) {
        out[n++] = e;
        return n;
    }
    if (cache.n == cache.cap) {
        size_t old = xl_oldest(&cache);
        out[n++] = cache.at[old];
        xl_remove(&cache, old);
    }
    if (cache.bytes + e.size > limit) n = evict_oldest(cache.bytes + e.size - limit, out, n);
    cache.at[cache.n++] = e;
    cache.bytes += e.size;
    return n;
}

void _hz3_extent_release(hz3_extent_t *out, size_t n, size_t live_bytes)
{
    uint64_t now = _hz3_now_ms();
    for (size_t i = 0; i < n; i++) _hz3_large_decommit(out[i].map, out[i].size);
    _hz3_large_lock();
    for (size_t i = 0; i < n; i++) spare_put((hz3_extent_t){ out[i].map, out[i].size, now }, live_bytes);
    _hz3_large_unlock();
}

size_t _hz3_extent_purge(uint64_t now_ms, uint64_t delay_ms, size_t live_bytes)
{
    hz3_extent_t out[HZ3_LARGE_CACHE_SLOTS];
    size_t n = 0;
    _hz3_large_lock();
    for (size_t i = 0; i < cache.n;) {
        if (delay_ms == 0 || now_ms >= cache.at[i].since_ms + delay_ms) {
            out[n++] = cache.at[i];
            xl_remove(&cache, i);
        } else {
            i++;
        }
    }
    _hz3_large_unlock();
    _hz3_extent_release(out, n, live_bytes);
    if (delay_ms == 0) {
        /* A full purge gives back the page tables and address space too. */
        _hz3_large_lock();
        for (size_t i = 0; i < spare.n; i++) _hz3_os_unmap(spare.at[i].map, spare.at[i].size);
        spare.n = 0;
        spare.bytes = 0;
        _hz3_large_unlock();
    }
    return n;
}

void _hz3_extent_stats(struct hz3_stats *st)
{
    st->large_cached = cache.n;
    st->large_cached_bytes = cache.bytes;
}

void _hz3_extent_each_cached(void (*fn)(uintptr_t start, uintptr_t end, void *arg), void *arg)
{
    for (size_t i = 0; i < cache.n; i++) fn((uintptr_t)cache.at[i].map, (uintptr_t)cache.at[i].map + cache.at[i].size, arg);
}

bool _hz3_extent_cached_owns(uintptr_t p)
{
    for (size_t i = 0; i < cache.n; i++)
        if (p >= (uintptr_t)cache.at[i].map && p < (uintptr_t)cache.at[i].map + cache.at[i].size) return true;
    return false;
}
