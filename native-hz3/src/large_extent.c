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
 *     again first (no page faults); at most the bound large.c sets
 *     (cache_bound: at least max(HZ3_LARGE_CACHE_MIN_BYTES, live large
 *     bytes >> HZ3_LARGE_CACHE_LIVE_SHIFT)) bytes and
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
 * cached); the window of a run of ranges next to each other that covers
 * the most cached bytes; the smallest spare range that holds it; a new
 * chunk. While the cache is dense, what it took from spare ranges (or a new
 * chunk) is then filled with the coldest cached ranges' pages, moved
 * (_hz3_extent_fill): the cache's resident bytes serve any request that
 * they add up to, not only one that fits a single range.
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
#define MOVE_ALIGN ((size_t)2 << 20)

typedef struct { hz3_extent_t *at; size_t n, bytes, cap; } xlist_t;

static hz3_extent_t cache_slots[HZ3_LARGE_CACHE_SLOTS], spare_slots[SPARE_SLOTS];
/* The spare pieces the last take handed out (its fresh pages), for
 * _hz3_extent_fill; under the lock. */
static hz3_extent_t holes[HZ3_EXTENT_HOLES];
static size_t holes_n;
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

/* The window of need bytes, inside a run of free ranges next to each other
 * (cached and spare alternating), that covers the most cached bytes: its
 * resident pages serve the object, only the spare ones in it fault. For a
 * request bigger than every cached range this is what keeps large_churn
 * (64 KiB-64 MiB, every page written) from faulting the whole object into a
 * spare range while the cache beside it is drained: 337k faults in 300
 * replacements against tcmalloc's 95k at the same mean RSS. An optimal
 * window starts at a cached range's start or ends at a cached range's end
 * (else it could slide to cover more), or is stopped by the run's ends;
 * each of those starts or ends at a range's boundary, so taking it cuts at
 * most one range at each edge and splits none. Among windows that cover
 * the same cached bytes, the smallest run (the best fit). Without any
 * cached byte to use, false. */
static bool take_window(size_t need, hz3_extent_t *got, size_t *fresh)
{
    typedef struct { uint8_t *map; size_t size; bool cached; } piece_t;
    static piece_t all[HZ3_LARGE_CACHE_SLOTS + SPARE_SLOTS];   /* under the lock */
    size_t n = 0;
    for (size_t i = 0; i < cache.n; i++) all[n++] = (piece_t){ cache.at[i].map, cache.at[i].size, true };
    for (size_t i = 0; i < spare.n; i++) all[n++] = (piece_t){ spare.at[i].map, spare.at[i].size, false };
    /* Shell sort by address (no library call: qsort may allocate). */
    for (size_t gap = n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < n; i++)
            for (size_t j = i; j >= gap && all[j - gap].map > all[j].map; j -= gap) {
                piece_t t = all[j];
                all[j] = all[j - gap];
                all[j - gap] = t;
            }
    uint8_t *best = NULL;
    size_t best_cached = 0, best_run = SIZE_MAX;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1, run = all[i].size;
        while (j < n && all[j - 1].map + all[j - 1].size == all[j].map) run += all[j++].size;
        uint8_t *lo = all[i].map, *hi = all[i].map + run;
        for (size_t k = i; run >= need && k < j; k++) {
            if (!all[k].cached) continue;
            uint8_t *ends = all[k].map + all[k].size;
            uint8_t *cand[2] = { all[k].map + need <= hi ? all[k].map : hi - need, ends - need >= lo ? ends - need : lo };
            for (int c = 0; c < 2; c++) {
                uint8_t *a = cand[c], *b = cand[c] + need;
                size_t covered = 0;
                for (size_t m = i; m < j && all[m].map < b; m++) {
                    uint8_t *s = all[m].map > a ? all[m].map : a, *e = all[m].map + all[m].size < b ? all[m].map + all[m].size : b;
                    if (all[m].cached && e > s) covered += (size_t)(e - s);
                }
                if (covered > best_cached || (covered == best_cached && covered && run < best_run)) {
                    best = a;
                    best_cached = covered;
                    best_run = run;
                }
            }
        }
        i = j;
    }
    if (!best_cached) return false;
    uint8_t *b = best + need;
    for (size_t k = 0; k < n; k++) {
        uint8_t *s = all[k].map > best ? all[k].map : best, *e = all[k].map + all[k].size < b ? all[k].map + all[k].size : b;
        if (e <= s) continue;
        xlist_t *l = all[k].cached ? &cache : &spare;
        size_t idx = xl_starting(l, all[k].map);
        if (!all[k].cached) {
            *fresh += (size_t)(e - s);
            if (holes_n < HZ3_EXTENT_HOLES) holes[holes_n++] = (hz3_extent_t){ s, (size_t)(e - s), 0 };
        }
        xl_cut(l, idx, (size_t)(e - s), s > all[k].map);   /* an edge range keeps its other side */
    }
    *got = (hz3_extent_t){ best, need, 0 };
    return true;
}

bool _hz3_extent_take(size_t need, hz3_extent_t *got, size_t *fresh)
{
    *fresh = 0;
    holes_n = 0;
    size_t i = xl_best(&cache, need);
    if (i != NONE) {
        /* A rest under an eighth of the request goes with the object:
         * keeping it would only add a range too small to serve anyone. */
        hz3_extent_t *e = &cache.at[i];
        size_t n = e->size - need >= need / 8 ? need : e->size;
        *got = (hz3_extent_t){ xl_cut(&cache, i, n, false), n, 0 };
        return true;
    }
    /* Sparse cached ranges (large.h, _hz3_large_dense) are worth little
     * to an object that does not fit one: as before the windows, one grown
     * in place into the spare range after (or before) it (no mapping, and
     * its page tables stand), else fresh pages. */
    bool dense = _hz3_large_dense();
    if (dense && take_window(need, got, fresh)) return true;
    for (i = 0; !dense && i < cache.n; i++) {
        hz3_extent_t c = cache.at[i];
        size_t more = need - c.size, j;
        if ((j = xl_starting(&spare, c.map + c.size)) != NONE && spare.at[j].size >= more) {
            holes[holes_n++] = (hz3_extent_t){ xl_cut(&spare, j, more, false), more, 0 };
        } else if ((j = xl_ending(&spare, c.map)) != NONE && spare.at[j].size >= more) {
            c.map = xl_cut(&spare, j, more, true);
            holes[holes_n++] = (hz3_extent_t){ c.map, more, 0 };
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
        holes[holes_n++] = *got;
        return true;
    }
    return !dense && take_window(need, got, fresh);
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

size_t _hz3_extent_drain(size_t fresh, hz3_extent_t *out, size_t n)
{
    return evict_oldest(fresh, out, n);
}

void _hz3_extent_fresh(hz3_extent_t e)
{
    holes[0] = e;
    holes_n = 1;
}

/* The cached range with a whole aligned block of MOVE_ALIGN bytes in it
 * that was freed first; NONE if none has. */
static size_t oldest_movable(void)
{
    size_t old = NONE;
    for (size_t i = 0; i < cache.n; i++) {
        hz3_extent_t *x = &cache.at[i];
        if (_hz3_align_up((uintptr_t)x->map, MOVE_ALIGN) + MOVE_ALIGN <= (uintptr_t)x->map + x->size &&
            (old == NONE || x->since_ms < cache.at[old].since_ms)) old = i;
    }
    return old;
}

/* Moving a page costs its page-table entry, faulting it in its zeroing
 * and the fault (mremap of 8 MiB written: 0.2-1 ms; faulting 8 MiB in:
 * about 85 ms on this machine's guest). large_churn (16 buffers of 64
 * KiB-64 MiB, every page written) faulted 137-148k pages in 300
 * replacements with its cache's extents reused only in place, 95k with
 * them moved (tcmalloc 95k, at a higher peak). The source is left mapped
 * and empty (MREMAP_DONTUNMAP): a spare range, as a decommit leaves it.
 * Blocks are 2 MiB aligned at both ends, so that the kernel moves whole
 * page tables and the mappings this splits (a moved block is a mapping of
 * its own until its neighbours are moved beside it) end on 2 MiB
 * boundaries: at most one per 2 MiB of the large tier's address space,
 * far below vm.max_map_count (65,530) for the address space it keeps
 * (the spare bound, large.c's cache bound and the live objects). A
 * refusal (an old kernel, no mapping left) ends moves for good: the holes
 * then fault as before. */
size_t _hz3_extent_fill(size_t live_bytes, hz3_extent_t *out, size_t *n)
{
    size_t filled = 0;
    for (size_t h = 0; h < holes_n; h++) {
        uintptr_t a = _hz3_align_up((uintptr_t)holes[h].map, MOVE_ALIGN);
        uintptr_t b = ((uintptr_t)holes[h].map + holes[h].size) & ~(uintptr_t)(MOVE_ALIGN - 1);
        size_t i;
        while (a < b && (i = oldest_movable()) != NONE) {
            hz3_extent_t x = cache.at[i];
            uintptr_t xa = _hz3_align_up((uintptr_t)x.map, MOVE_ALIGN);
            uintptr_t xb = ((uintptr_t)x.map + x.size) & ~(uintptr_t)(MOVE_ALIGN - 1);
            size_t len = b - a < xb - xa ? b - a : xb - xa;
            uint8_t *from = (uint8_t *)(xb - len), *end = x.map + x.size;
            /* What follows the block stays cached in a slot of its own, or
             * goes back if there is none (it is under MOVE_ALIGN). */
            bool tail = end > (uint8_t *)xb;
            if (tail && cache.n == cache.cap && *n == HZ3_EXTENT_OUT) return filled;
            if (!_hz3_large_move(from, (uint8_t *)a, len)) return filled;
            xl_cut(&cache, i, (size_t)(end - from), true);
            if (tail) {
                hz3_extent_t t = { (uint8_t *)xb, (size_t)(end - (uint8_t *)xb), x.since_ms };
                if (cache.n < cache.cap) {
                    cache.at[cache.n++] = t;
                    cache.bytes += t.size;
                } else {
                    out[(*n)++] = t;
                }
            }
            spare_put((hz3_extent_t){ from, len, _hz3_now_ms() }, live_bytes);
            a += len;
            filled += len;
        }
    }
    holes_n = 0;
    return filled;
}

size_t _hz3_extent_give(hz3_extent_t e, size_t limit, hz3_extent_t *out)
{
    e = xl_merge(&cache, e);
    /* The bound may have dropped below what the cache holds (the live bytes
     * fell under an eighth of their peak, large.c): the oldest go too. */
    bool keep = e.size <= limit;
    size_t n = 0;
    if (!keep) {
        out[n++] = e;
    } else if (cache.n == cache.cap) {
        size_t old = xl_oldest(&cache);
        out[n++] = cache.at[old];
        xl_remove(&cache, old);
    }
    size_t want = cache.bytes + (keep ? e.size : 0);
    if (want > limit) n = evict_oldest(want - limit, out, n);
    if (keep) {
        cache.at[cache.n++] = e;
        cache.bytes += e.size;
    }
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
