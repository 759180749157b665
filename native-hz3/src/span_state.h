/*
 * span_state.h: the span state changes that span.c (refill and the full and
 * avail moves) and span_return.c (spans given back) share; static inline, so
 * that refill keeps them inline.
 */
#ifndef HZ3_SPAN_STATE_H
#define HZ3_SPAN_STATE_H

#include "hz3_internal.h"

static inline void cpu_relax(void) { __builtin_ia32_pause(); }

/* Moves the remote frees onto local_free. Returns how many. */
static inline unsigned collect(hz3_span_t *s)
{
    uintptr_t old = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
    if (!hz3_tf_ptr(old)) return 0;
    /* Seqlock for the census: used and thread_free change together. */
    uint16_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, (uint16_t)(seq + 1), memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&s->thread_free, &old, hz3_tf_make(NULL, 0, hz3_tf_state(old)),
                                                  memory_order_acq_rel, memory_order_relaxed)) {
    }
    unsigned n = hz3_tf_count(old);
    _hz3_used_sub(s, n);
    atomic_store_explicit(&s->seq, (uint16_t)(seq + 2), memory_order_release);
    hz3_block_t *head = hz3_tf_ptr(old);
    if (s->local_free) {
        /* Walking the list touches every block, lines the freeing threads
         * wrote last: only when there is a list to append it to. */
        hz3_block_t *tail = head;
        for (unsigned i = 1; i < n; i++) tail = tail->next;
        tail->next = s->local_free;
    }
    s->local_free = head;
    return n;
}

/* Changes the state bits only, keeping list and count. */
static inline void set_state(hz3_span_t *s, unsigned from, unsigned to)
{
    uintptr_t old = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
    while (hz3_tf_state(old) == from &&
           !atomic_compare_exchange_weak_explicit(&s->thread_free, &old, (old & ~HZ3_TF_STATE_MASK) | to,
                                                  memory_order_acq_rel, memory_order_relaxed)) {
    }
}

#endif /* HZ3_SPAN_STATE_H */
