/*
 * pool.h: the page pool's shared state, between its three files:
 *   segment.c     segments: the segment map and slots, reservations, a
 *                 segment's making and release, the purge, the census walk;
 *   pool.c        spans taken from segments and given back to them;
 *   pool_index.c  the index of free pages (free runs in bins by length).
 * One lock, _hz3_pool_mutex, guards all of it; threads come here only when
 * a span is made or given back.
 *
 * Invariants (under the pool lock)
 *   - a page of an active segment is free  <=>  its freemap bit is set
 *     <=>  its span entry has kind HZ3_SPAN_NONE and owner NULL;
 *   - a free page is dirty (free, maybe resident)  <=>  its dirtymap bit is
 *     set  <=>  its entry's page_flags has HZ3_PAGE_DIRTY;
 *   - seg->free_pages == popcount(seg->freemap), seg->dirty_free_pages ==
 *     popcount(seg->dirtymap), and seg->in_avail  <=>  free_pages > 0;
 *   - every maximal free run of one dirtiness is a node of the index, in
 *     the bins seg->bin_kind names (pool_index.c), but in a segment whose
 *     bin_kind is HZ3_BINS_NONE: a purge is decommitting some of its free
 *     pages with the lock dropped (segment.c), and none of its runs is a
 *     node until the purge links them again;
 *   - the segmap bit of a segment is set  <=>  it is active.
 */
#ifndef HZ3_POOL_H
#define HZ3_POOL_H

#include "purge.h"

#pragma GCC visibility push(hidden)

/* seg->bin_kind: the bins a segment's free runs are in. A wholly free
 * segment serves either kind. NONE: in no bins (see the invariants). */
enum { HZ3_BINS_CLASS = 0, HZ3_BINS_RUN = 1, HZ3_BINS_WHOLE = 2, HZ3_BINS_KINDS = 3, HZ3_BINS_NONE = HZ3_BINS_KINDS };

/* Free runs of one kind and dirtiness, by exact length. Two levels of
 * bitmaps find the shortest non-empty bin of at least n pages in a few
 * instructions: bit w of `words` is set  <=>  nonempty[w] != 0. */
typedef struct {
    hz3_span_t *first[HZ3_SEG_PAGES];      /* by run length */
    uint64_t nonempty[HZ3_SEG_PAGES / 64];
    uint64_t words;
} hz3_bins_t;

typedef struct {
    hz3_segment_t *segments;            /* all active segments */
    hz3_bins_t bins[HZ3_BINS_KINDS][2]; /* [kind][dirty] */
    hz3_reservation_t *reservations;
    uint64_t nreservations, reserved_bytes;
    uint64_t nsegments, nfree_whole;
    uint64_t span_pages, free_pages, freed_segments;
    hz3_demand_t demand;                /* pages handed out, for the purge's working set */
    unsigned out_of_index;              /* segments in no bins (HZ3_BINS_NONE) */
    unsigned purge_waiters;             /* takes waiting on _hz3_pool_purged */
    _Atomic uint64_t changes;           /* written under the lock; see _hz3_pool_changes */
} hz3_pool_t;

extern hz3_pool_t _hz3_pool;
extern pthread_mutex_t _hz3_pool_mutex;
/* Signalled when a purge links the runs of its segments again: a take
 * that nothing fits waits for it (with the pool lock, while out_of_index)
 * rather than map a new segment beside pages it will soon be able to use. */
extern pthread_cond_t _hz3_pool_purged;

/* ---- segment.c ---- */
/* A new segment is made in three steps, so that the page faults of its
 * header are not taken under the lock (a fault costs microseconds, tens
 * of them on a loaded machine; a take's own work, a few hundred
 * instructions): claim a slot (lock held; NULL when no address space is
 * left), prepare it (lock not held: maps the header; the slot is the
 * claimer's alone, outside the census's walk and the segment map), open it
 * (lock held: wholly free, its run in the index). */
hz3_segment_t *_hz3_segment_claim(void);
void _hz3_segment_prepare(hz3_segment_t *seg);
void _hz3_segment_open(hz3_segment_t *seg);
/* The bins a segment's runs belong in, from what it holds. */
static inline unsigned _hz3_segment_bin_kind(const hz3_segment_t *seg)
{
    return seg->free_pages == HZ3_SEG_USABLE_PAGES ? HZ3_BINS_WHOLE : seg->runs ? HZ3_BINS_RUN : HZ3_BINS_CLASS;
}

/* ---- pool_index.c ---- */
void _hz3_index_link(hz3_segment_t *seg, unsigned idx, unsigned len, bool dirty);
void _hz3_index_unlink(hz3_segment_t *seg, unsigned idx);   /* the node of the run starting at idx */
void _hz3_index_link_all(hz3_segment_t *seg);               /* every free run of the segment */
void _hz3_index_unlink_all(hz3_segment_t *seg);
/* The node of the shortest fitting free run for a span of the kind, in the
 * order pool_index.c gives; NULL if none. */
hz3_span_t *_hz3_index_find(unsigned kind, unsigned pages);
/* A free run of at least `pages` pages that no node holds, because it has
 * both dirty and clean pages (a run given back next to pages never touched
 * or purged), in a segment of the kind or wholly free: the segment, and in
 * *at the first page of the window of the run with the most dirty pages;
 * NULL if none. A walk over the segments (a bounded number of them): for
 * takes no node fits, which would otherwise map a new segment. */
hz3_segment_t *_hz3_index_find_mixed(unsigned kind, unsigned pages, unsigned *at);

/* ---- bitmaps of a segment's pages ---- */
static inline bool _hz3_map_bit(const uint64_t *map, unsigned i) { return (map[i >> 6] >> (i & 63)) & 1; }

/* The first index at or after i whose bit in map equals `set`; HZ3_SEG_PAGES if none. */
static inline unsigned _hz3_map_next(const uint64_t *map, unsigned i, bool set)
{
    while (i < HZ3_SEG_PAGES) {
        uint64_t w = set ? map[i >> 6] : ~map[i >> 6];
        w &= ~(uint64_t)0 << (i & 63);
        if (w) return (i & ~63u) + (unsigned)__builtin_ctzll(w);
        i = (i & ~63u) + 64;
    }
    return HZ3_SEG_PAGES;
}

/* The first index of the run of set bits that ends at i (bit i set). */
static inline unsigned _hz3_map_run_start(const uint64_t *map, unsigned i)
{
    for (;;) {
        uint64_t clear = ~map[i >> 6] & (~(uint64_t)0 >> (63 - (i & 63)));   /* clear bits at or below i */
        if (clear) return (i & ~63u) + 64 - (unsigned)__builtin_clzll(clear);
        if (i < 64) return 0;
        i = (i & ~63u) - 1;
    }
}

/* The mask of bits [idx, idx + n) within idx's word, n clipped to the
 * word's end; *k gets the number of bits it covers. */
static inline uint64_t _hz3_map_mask(unsigned idx, unsigned n, unsigned *k)
{
    unsigned bit = idx & 63;
    *k = n < 64 - bit ? n : 64 - bit;
    return (*k == 64 ? ~(uint64_t)0 : (((uint64_t)1 << *k) - 1)) << bit;
}

/* Sets or clears bits [idx, idx + n), a word at a time. */
static inline void _hz3_map_set(uint64_t *map, unsigned idx, unsigned n, bool on)
{
    for (unsigned k; n; idx += k, n -= k) {
        uint64_t m = _hz3_map_mask(idx, n, &k);
        if (on) map[idx >> 6] |= m; else map[idx >> 6] &= ~m;
    }
}

/* Set bits in [idx, idx + n). */
static inline unsigned _hz3_map_count(const uint64_t *map, unsigned idx, unsigned n)
{
    unsigned c = 0;
    for (unsigned k; n; idx += k, n -= k) c += (unsigned)__builtin_popcountll(map[idx >> 6] & _hz3_map_mask(idx, n, &k));
    return c;
}

/* Marks the header pages holding the entries of pages [idx, idx + n) written. */
static inline void _hz3_header_mark(hz3_segment_t *seg, unsigned idx, unsigned n)
{
    for (unsigned p = _hz3_entry_page(idx); p <= _hz3_entry_page(idx + n - 1); p++)
        seg->header_written |= (uint8_t)(1u << p);
}

/* Counts pages that changed hands; under the lock. */
static inline void _hz3_pool_changed(unsigned pages)
{
    atomic_store_explicit(&_hz3_pool.changes, _hz3_pool.changes + pages, memory_order_relaxed);
}

#pragma GCC visibility pop

#endif
