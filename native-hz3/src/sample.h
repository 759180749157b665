/*
 * sample.h: sampled allocations (sample.c), as the slow paths and the
 * generic free see them. The public side is in include/hz3.h.
 */
#ifndef HZ3_SAMPLE_H
#define HZ3_SAMPLE_H

#include "hz3_internal.h"

#pragma GCC visibility push(hidden)


/* h->sample_left[cls] counts the class's blocks still to hand out before
 * the one its next sample point falls in (0: the next block is the
 * sample). A point drawn b bytes ahead lies in block b / size: counting
 * whole blocks picks the same block as counting bytes, and a list is
 * charged with a subtraction, no multiply. Drawn afresh for every class
 * when h->sample_gen falls behind _hz3_sample_gen (hz3_sampling_set). */
extern _Atomic uint64_t _hz3_sample_gen;
void _hz3_sample_redraw(hz3_heap_t *h, uint64_t mean);
/* sample_left after a point drawn for a class of sz bytes */
uint64_t _hz3_sample_blocks(uint64_t mean, uint64_t sz);

/* Sampling on: p, just popped for a malloc of `size` bytes of class cls
 * from a list the slow path handed over, is charged one block (and is the
 * sample when the point falls in it); then the current span's free list,
 * which the fast path pops next, is charged whole, or cut where the
 * following point falls (the cut-off blocks wait on local_free, and the
 * malloc after the cut comes back to a slow path). The whole work is in
 * sample_list.c; the usual case, no point in p or the list, is inline. */
void _hz3_sample_list(hz3_heap_t *h, unsigned cls, void *p, size_t size, uint64_t mean);
static inline void _hz3_sample_charge(hz3_heap_t *h, unsigned cls, void *p, size_t size, uint64_t mean)
{
    uint64_t left = h->sample_left[cls];
    hz3_span_t *s = h->cur[cls];
    if (HZ3_LIKELY(h->sample_gen == atomic_load_explicit(&_hz3_sample_gen, memory_order_relaxed) && left != 0)) {
        /* blocks on the free list: while local_free is empty, every carved
         * block not in use (hz3_types.h); else it takes a walk, out of line */
        uint64_t n = !s->free ? 0 : s->local_free ? UINT64_MAX : (uint64_t)(s->extended - _hz3_used_get(s));
        if (n < left) {
            h->sample_left[cls] = left - 1 - n;
            return;
        }
    }
    _hz3_sample_list(h, cls, p, size, mean);
}
/* An exponential interval of the given mean, in bytes. */
uint64_t _hz3_sample_interval(uint64_t mean);
/* Records p (size bytes asked, charged bytes counted against the interval)
 * as a sample of the calling thread's site; s is its span (tagged while it
 * holds a live sample), NULL for an object in a mapping of its own. */
void _hz3_sample_take(void *p, size_t size, uint64_t charged, unsigned cls, hz3_span_t *s, uint64_t mean);
/* Objects above the span classes (runs and mappings): counted here, by
 * their own slow path, against a per-thread interval. */
void _hz3_sample_big(void *p, size_t size);
/* The generic free of p, in tagged span s (or NULL: a mapping of its own):
 * forgets p's sample if it has one, and untags s when it was its last. */
void _hz3_sample_forget(hz3_span_t *s, const void *p);
/* True while a sample of an object in a mapping of its own is live. */
bool _hz3_sample_mappings_live(void);
/* Between true and false, the calling thread's allocations are hz3's own
 * (the maintenance thread's TLS vector, which pthread_create allocates on
 * the starting thread and which lives as long as the process): like hz3's
 * metadata they are no sample, of no call site and in no count. */
void _hz3_sample_own(bool own);
/* A large object moved by realloc keeps its sample. */
void _hz3_sample_moved(const void *from, const void *to, size_t size);

/* The site census (site_census.c): live samples copied out, then joined
 * to their spans under the pool lock (cls and partial are the join's). */
typedef struct hz3_site_entry {
    uint64_t addr, site, size, weight, time_ms;
    uint32_t cls, partial;
} hz3_site_entry_t;
size_t _hz3_samples_copy(hz3_site_entry_t *out);   /* room for HZ3_SAMPLE_CAPACITY; returns how many */
unsigned _hz3_span_live(hz3_span_t *s);             /* census.c: used - |thread_free|, consistent */
extern pthread_mutex_t _hz3_site_census_lock;      /* one site census at a time */

void _hz3_samples_lock_all(void);
void _hz3_samples_unlock_all(void);
void _hz3_samples_after_fork_child(void);

#pragma GCC visibility pop
#endif /* HZ3_SAMPLE_H */
