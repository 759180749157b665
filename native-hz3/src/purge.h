/*
 * purge.h: the page pool's purge policy (purge.c): the working-set
 * estimate that decides how many free pages stay resident, the choice of
 * which go first, and decommits batched into one madvise per contiguous
 * range.
 */
#ifndef HZ3_PURGE_H
#define HZ3_PURGE_H

#include "hz3_internal.h"

#pragma GCC visibility push(hidden)

/* Units (pages or bytes) handed out, in total and as read at past purges,
 * so that a purge knows how many were handed out within its window. Under
 * the lock of whoever owns it. */
#define HZ3_DEMAND_POINTS 16
typedef struct {
    uint64_t total;
    struct { uint64_t ms, total; } point[HZ3_DEMAND_POINTS];
    unsigned n, head;
} hz3_demand_t;

/* How many units were handed out in about the last window_ms (at least
 * that window, at most 1.25 windows and one epoch more); records a point. */
uint64_t _hz3_demand_recent(hz3_demand_t *d, uint64_t now_ms, uint64_t window_ms);

/* Free pages by age, to find the oldest ones worth decommitting. */
#define HZ3_AGE_BUCKETS 64
typedef struct {
    uint64_t now, delay, step;
    uint64_t pages[HZ3_AGE_BUCKETS];
} hz3_ages_t;

void _hz3_ages_init(hz3_ages_t *a, uint64_t now_ms, uint64_t delay_ms);
/* Counts pages that went free at freed_ms, if at least delay_ms ago. */
void _hz3_ages_add(hz3_ages_t *a, uint64_t freed_ms, uint64_t pages);
/* The latest free time such that the pages that went free at or before it
 * number at least `excess` (all counted ones if they are fewer). */
uint64_t _hz3_ages_cutoff(const hz3_ages_t *a, uint64_t excess);

/* Decommits collected into maximal contiguous ranges, made later in one
 * madvise each (the page pool makes them after it drops its lock). The
 * caller keeps room: _hz3_decommit_room before it adds what may open new
 * ranges. */
#define HZ3_DECOMMIT_RANGES 256
typedef struct { uintptr_t start, end; } hz3_decommit_range_t;
typedef struct {
    hz3_decommit_range_t range[HZ3_DECOMMIT_RANGES];
    unsigned n;
} hz3_decommit_list_t;
static inline unsigned _hz3_decommit_room(const hz3_decommit_list_t *l) { return HZ3_DECOMMIT_RANGES - l->n; }
void _hz3_decommit_add(hz3_decommit_list_t *l, void *p, size_t size);
/* Makes the decommits and empties the list; returns the madvise calls. */
uint64_t _hz3_decommit_flush(hz3_decommit_list_t *l);

#pragma GCC visibility pop

#endif
