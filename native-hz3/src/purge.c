/*
 * purge.c: how much free memory a purge keeps resident, which goes first,
 * and decommits in as few calls as the address space allows.
 *
 * A purge decommits what stayed free for purge_delay_ms, but not all of
 * it: as many free pages as the page pool handed out within the last delay
 * stay resident (the process's working set; the decay of jemalloc and the
 * "keep what was reused" of others work on the same idea; the large cache
 * keeps none, see large.c). A process that frees and
 * allocates at a steady rate, such as a JVM replacing its direct buffers
 * and zlib windows, would otherwise pay a madvise for pages and then a
 * fault for each of them when it takes them again a moment later. Once it
 * stops taking, its window empties and the next purge gives everything
 * back, so an idle process still returns to its baseline within about
 * two delays. The pages kept are the youngest; the oldest go first.
 */
#include "purge.h"

uint64_t _hz3_demand_recent(hz3_demand_t *d, uint64_t now_ms, uint64_t window_ms)
{
    /* The newest point at least a window old; without one, the oldest (or,
     * before any point, everything since the start: keeping too much for
     * one window costs nothing a purge will not give back later). */
    uint64_t since = 0;
    for (unsigned k = 0; k < d->n; k++) {
        unsigned i = (d->head + HZ3_DEMAND_POINTS - 1 - k) % HZ3_DEMAND_POINTS;
        since = d->point[i].total;
        if (now_ms - d->point[i].ms >= window_ms) break;
    }
    uint64_t recent = d->total - since;
    /* Points a quarter window apart: the ring spans four windows. */
    unsigned last = (d->head + HZ3_DEMAND_POINTS - 1) % HZ3_DEMAND_POINTS;
    if (d->n == 0 || now_ms - d->point[last].ms >= window_ms / 4) {
        d->point[d->head].ms = now_ms;
        d->point[d->head].total = d->total;
        d->head = (d->head + 1) % HZ3_DEMAND_POINTS;
        if (d->n < HZ3_DEMAND_POINTS) d->n++;
    }
    return recent;
}

void _hz3_ages_init(hz3_ages_t *a, uint64_t now_ms, uint64_t delay_ms)
{
    a->now = now_ms;
    a->delay = delay_ms;
    a->step = delay_ms / 4 ? delay_ms / 4 : 1;
    for (unsigned b = 0; b < HZ3_AGE_BUCKETS; b++) a->pages[b] = 0;
}

void _hz3_ages_add(hz3_ages_t *a, uint64_t freed_ms, uint64_t pages)
{
    if (freed_ms > a->now || a->now - freed_ms < a->delay) return;
    uint64_t b = (a->now - freed_ms - a->delay) / a->step;
    a->pages[b < HZ3_AGE_BUCKETS ? b : HZ3_AGE_BUCKETS - 1] += pages;
}

uint64_t _hz3_ages_cutoff(const hz3_ages_t *a, uint64_t excess)
{
    /* The clock counts from boot: on a machine up for less than a delay,
     * now - delay would wrap and every free page would look old enough. */
    if (a->now < a->delay) return 0;
    uint64_t oldest = a->now - a->delay, acc = 0;
    for (unsigned b = HZ3_AGE_BUCKETS; b-- > 1;) {
        acc += a->pages[b];
        uint64_t back = (uint64_t)b * a->step;
        if (acc >= excess) return oldest > back ? oldest - back : 0;
    }
    return oldest;
}

void _hz3_decommit_add(hz3_decommit_list_t *l, void *p, size_t size)
{
    uintptr_t s = (uintptr_t)p, e = s + size;
    if (l->n) {
        hz3_decommit_range_t *last = &l->range[l->n - 1];
        if (s == last->end) {
            last->end = e;
            return;
        }
        if (e == last->start) {   /* segments are listed newest, that is highest, first */
            last->start = s;
            return;
        }
    }
    l->range[l->n].start = s;
    l->range[l->n].end = e;
    l->n++;
}

uint64_t _hz3_decommit_flush(hz3_decommit_list_t *l)
{
    for (unsigned i = 0; i < l->n; i++) _hz3_os_decommit((void *)l->range[i].start, l->range[i].end - l->range[i].start);
    uint64_t calls = l->n;
    l->n = 0;
    return calls;
}
