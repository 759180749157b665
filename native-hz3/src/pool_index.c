/*
 * pool_index.c: the index of free pages (best fit without a scan), under
 * the pool lock.
 *
 * The free pages of a segment fall into maximal runs of one dirtiness:
 * dirty runs (maximal runs of dirtymap bits: free, maybe resident) and
 * clean runs (free, not resident). Each run is a node: the span entry of
 * its first page holds its length in `pages` and its links in next/prev
 * (a free page's entry uses them for nothing else). Nodes sit in bins by
 * exact length, one set of bins per segment kind (class spans, runs, or
 * wholly free, which serves either) and dirtiness, with a bitmap of the
 * bins that are not empty and one of its words that are not: a request of
 * n pages takes the shortest run of at least n pages in two bit searches, dirty runs of its own kind first,
 * then dirty wholly free segments, then the same for clean runs (reusing
 * resident pages costs no fault and no new memory). A request splits its
 * run (the rest stays a node), a give merges with the dirty runs next to
 * it. A segment changing kind, or a purge turning dirty pages clean,
 * relinks that segment's nodes from its bitmaps (after its madvise calls,
 * made with the lock dropped: until then the segment is in no bins, see
 * pool.h). seg->bin_kind names the bins its nodes are in. A free run of both dirtinesses is two nodes or
 * more, none of which may fit a request that the run fits: before a new
 * segment, a walk of the segments looks for such a run
 * (_hz3_index_find_mixed).
 */
#include "pool.h"

void _hz3_index_link(hz3_segment_t *seg, unsigned idx, unsigned len, bool dirty)
{
    hz3_bins_t *b = &_hz3_pool.bins[seg->bin_kind][dirty];
    hz3_span_t *e = &seg->spans[idx];
    _hz3_header_mark(seg, idx, 1);
    e->pages = (uint16_t)len;
    e->prev = NULL;
    e->next = b->first[len];
    if (e->next) e->next->prev = e;
    b->first[len] = e;
    b->nonempty[len >> 6] |= (uint64_t)1 << (len & 63);
    b->words |= (uint64_t)1 << (len >> 6);
}

/* Its dirtiness is read from the dirty map, which has not changed since
 * the node was linked. */
void _hz3_index_unlink(hz3_segment_t *seg, unsigned idx)
{
    hz3_span_t *e = &seg->spans[idx];
    unsigned len = e->pages;
    hz3_bins_t *b = &_hz3_pool.bins[seg->bin_kind][_hz3_map_bit(seg->dirtymap, idx)];
    if (e->prev) e->prev->next = e->next; else b->first[len] = e->next;
    if (e->next) e->next->prev = e->prev;
    e->next = e->prev = NULL;
    if (!b->first[len] && !(b->nonempty[len >> 6] &= ~((uint64_t)1 << (len & 63))))
        b->words &= ~((uint64_t)1 << (len >> 6));
}

/* Calls fn for every maximal free run of one dirtiness in the segment. */
static void each_free_run(hz3_segment_t *seg, void (*fn)(hz3_segment_t *, unsigned idx, unsigned len, bool dirty))
{
    uint64_t clean[HZ3_SEG_PAGES / 64];
    for (unsigned w = 0; w < HZ3_SEG_PAGES / 64; w++) clean[w] = seg->freemap[w] & ~seg->dirtymap[w];
    for (int dirty = 0; dirty <= 1; dirty++) {
        const uint64_t *map = dirty ? seg->dirtymap : clean;
        for (unsigned i = _hz3_map_next(map, 0, true); i < HZ3_SEG_PAGES;) {
            unsigned end = _hz3_map_next(map, i, false);
            fn(seg, i, end - i, dirty);
            i = _hz3_map_next(map, end, true);
        }
    }
}

static void unlink_run(hz3_segment_t *seg, unsigned idx, unsigned len, bool dirty) { _hz3_index_unlink(seg, idx); }
static void link_run(hz3_segment_t *seg, unsigned idx, unsigned len, bool dirty) { _hz3_index_link(seg, idx, len, dirty); }
void _hz3_index_unlink_all(hz3_segment_t *seg) { each_free_run(seg, unlink_run); }
void _hz3_index_link_all(hz3_segment_t *seg) { each_free_run(seg, link_run); }

/* The shortest free run of at least n pages in bins b, or NULL: the
 * lengths from n in n's word, else the first non-empty word above it. */
static inline hz3_span_t *bins_find(const hz3_bins_t *b, unsigned n)
{
    unsigned w = n >> 6;
    uint64_t m = b->nonempty[w] & (~(uint64_t)0 << (n & 63));
    if (!m) {
        uint64_t above = b->words & (~(uint64_t)1 << w);   /* words w+1.. (w < 4) */
        if (!above) return NULL;
        w = (unsigned)__builtin_ctzll(above);
        m = b->nonempty[w];
    }
    return b->first[(w << 6) + (unsigned)__builtin_ctzll(m)];
}

hz3_span_t *_hz3_index_find(unsigned kind, unsigned pages)
{
    const hz3_bins_t(*bins)[2] = _hz3_pool.bins;
    hz3_span_t *e;
    for (int dirty = 1; dirty >= 0; dirty--)
        if ((e = bins_find(&bins[kind][dirty], pages)) || (e = bins_find(&bins[HZ3_BINS_WHOLE][dirty], pages)))
            return e;
    return NULL;
}

/* The window of n pages in [start, end) with the most dirty pages (the
 * fewest faults when taken): its first page; *dirty gets its count. */
static unsigned warmest_window(const hz3_segment_t *seg, unsigned start, unsigned end, unsigned n, unsigned *dirty)
{
    unsigned c = _hz3_map_count(seg->dirtymap, start, n), best = c, at = start;
    for (unsigned i = start; i + n < end; i++) {
        c += _hz3_map_bit(seg->dirtymap, i + n);
        c -= _hz3_map_bit(seg->dirtymap, i);
        if (c > best) {
            best = c;
            at = i + 1;
        }
    }
    *dirty = best;
    return at;
}

/* Segments whose free runs the walk reads, at most: it runs under the pool
 * lock, and a big heap's misses would otherwise walk all its segments. */
#define MIXED_WALK_SEGS 64

hz3_segment_t *_hz3_index_find_mixed(unsigned kind, unsigned pages, unsigned *at)
{
    hz3_segment_t *found = NULL;
    unsigned best_len = UINT32_MAX, best_dirty = 0, budget = MIXED_WALK_SEGS;
    for (hz3_segment_t *seg = _hz3_pool.segments; seg && budget; seg = seg->next) {
        /* A segment with no dirty page, or no clean one, has no mixed run
         * (its runs are nodes); one out of the index (bin_kind NONE) is a
         * purge's until it links it again. */
        if (seg->free_pages < pages || !seg->dirty_free_pages || seg->dirty_free_pages == seg->free_pages ||
            (seg->bin_kind != kind && seg->bin_kind != HZ3_BINS_WHOLE))
            continue;
        budget--;
        for (unsigned i = _hz3_map_next(seg->freemap, 0, true); i < HZ3_SEG_PAGES;) {
            unsigned end = _hz3_map_next(seg->freemap, i, false), len = end - i, dirty;
            if (len >= pages && len <= best_len) {
                unsigned w = warmest_window(seg, i, end, pages, &dirty);
                if (len < best_len || dirty > best_dirty) {
                    found = seg;
                    *at = w;
                    best_len = len;
                    best_dirty = dirty;
                }
            }
            i = end < HZ3_SEG_PAGES ? _hz3_map_next(seg->freemap, end, true) : HZ3_SEG_PAGES;
        }
    }
    return found;
}

/* ---- for the invariant walker ---- */
static unsigned index_bad;

static void check_run(hz3_segment_t *seg, unsigned idx, unsigned len, bool dirty)
{
    const hz3_span_t *e = &seg->spans[idx];
    const hz3_bins_t *b = &_hz3_pool.bins[seg->bin_kind][dirty];
    bool linked = e->pages == len && ((b->nonempty[len >> 6] >> (len & 63)) & 1) && ((b->words >> (len >> 6)) & 1) &&
                  (e->prev ? e->prev->next == e : b->first[len] == e);
    if (!linked) index_bad++;
}

/* Free runs of the segment whose node is missing from the index (its
 * length, bin or links wrong); the caller holds the pool lock. */
unsigned _hz3_pool_index_errors(hz3_segment_t *seg)
{
    index_bad = 0;
    if (seg->bin_kind == HZ3_BINS_NONE) return 0;   /* a purge's, out of the index until it links it again */
    if (seg->bin_kind != _hz3_segment_bin_kind(seg)) index_bad++;
    each_free_run(seg, check_run);
    return index_bad;
}
