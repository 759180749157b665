/*
 * hz3_hot.h: the malloc and free fast paths, and nothing else.
 *
 * Budget: a malloc of a shared class (small, sub4k, medium to 16 KiB) is a
 * table lookup, two loads, a pop (one test) and one store (the free key
 * cleared); when the span's list runs dry, the miss branch takes over the
 * blocks freed since (local_free) unless sampling is on. A local free is a
 * segment-map test, a span lookup, an owner compare, the free-key compare,
 * the start-of-object check and a push with the key (one test for "empty
 * or was full"). A free of another thread's block leaves after the owner
 * compare, to the remote batch (remote.c), with no atomic.
 * No lock, no atomic read-modify-write, no counter kept for observation.
 * Everything else (refill, remote frees, runs and large objects, bad
 * pointers) is out of line in span.c, run.c, large.c and alloc.c.
 */
#ifndef HZ3_HOT_H
#define HZ3_HOT_H

#include "hz3_internal.h"

static inline void *_hz3_malloc_fast(size_t size)
{
    hz3_heap_t *h = _hz3_tl_heap;
    if (HZ3_LIKELY(size <= HZ3_MEDIUM_MAX)) {
        /* Every size class. Before initialisation the table reads class 0
         * and every heap is the empty one, whose spans have no free block:
         * the slow path. */
        hz3_span_t *s = h->cur[_hz3_class_of16[(size + 15) >> 4]];
        hz3_block_t *b = s->free;
        /* free ran dry: take over the blocks freed since (local_free, see
         * hz3_types.h) unless sampling is on, which cuts lists in
         * alloc.c. On the miss branch only. */
        if (HZ3_UNLIKELY(b == NULL) && s->local_free && !atomic_load_explicit(&_hz3_sample_mean, memory_order_relaxed)) {
            b = s->local_free;
            s->local_free = NULL;
        }
        if (HZ3_LIKELY(b != NULL)) {
            s->free = b->next;
            _hz3_key_clear(b);
            _hz3_used_set(s, _hz3_used_get(s) + 1);
            return b;
        }
    }
    return _hz3_malloc_generic(size, false);
}

/* The span entry (head) for a pointer known to lie in a segment. */
static inline hz3_span_t *_hz3_span_of(const void *p, size_t *off_in_span)
{
    hz3_segment_t *seg = _hz3_segment_of(p);
    size_t seg_off = (uintptr_t)p - (uintptr_t)seg;
    size_t idx = seg_off >> HZ3_PAGE_SHIFT;
    hz3_span_t *s = &seg->spans[idx];
    size_t head = idx - s->head_off;
    *off_in_span = seg_off - (head << HZ3_PAGE_SHIFT);
    return &seg->spans[head];
}

/* True when off is the start of one of the span's blocks carved so far
 * (medium spans are carved lazily: a block past `extended` was never
 * handed out). One multiply gives both halves: the low one is below
 * divisible exactly when off is a multiple of the size, the high one is
 * off / size (exact for offsets below 2^32). */
static inline bool _hz3_is_block_start(const hz3_span_t *s, size_t off)
{
    uint64_t divisible = _hz3_classes[s->cls].divisible;
    unsigned __int128 m = (unsigned __int128)off * divisible;
    return (uint64_t)m < divisible && (uint64_t)(m >> 64) < __atomic_load_n(&s->extended, __ATOMIC_RELAXED);
}

/* The local free, and the remote one into the thread's batch (remote.c,
 * which itself sends what it cannot check to _hz3_free_generic); false
 * sends the caller to _hz3_free_generic (foreign and bad pointers,
 * suspected double frees, NULL). Always inlined into free, even in the
 * debug build: __builtin_return_address then names free's caller. */
static inline __attribute__((always_inline)) bool _hz3_free_fast(void *p)
{
    if (HZ3_LIKELY(_hz3_is_segment((uintptr_t)p))) {
        size_t off;
        hz3_span_t *s = _hz3_span_of(p, &off);
        hz3_heap_t *h = _hz3_tl_heap;
        if (HZ3_LIKELY(atomic_load_explicit(&s->owner, memory_order_relaxed) == h)) {
            hz3_block_t *b = (hz3_block_t *)p;
            /* An interior pointer is off the grid (tested first: only a
             * block start has its second word inside the block); a block
             * freed already carries the free key (or user data that equals
             * it: the generic path tells the two apart by looking on the
             * span's lists). */
            if (HZ3_LIKELY(!HZ3_FREE_CHECKS || (_hz3_is_block_start(s, off) && !_hz3_key_found(b)))) {
                b->next = s->local_free;
                _hz3_key_set(b);
                s->local_free = b;
                unsigned used = _hz3_used_get(s) - 1;
                _hz3_used_set(s, used);
                if (HZ3_UNLIKELY(used == 0 || _hz3_where_get(s) == HZ3_WHERE_FULL)) _hz3_free_local_slow(h, s);
                return true;
            }
        } else {
            /* A tail call with the pointer alone (it finds span and heap
             * again): the local path keeps no register for it. */
            _hz3_free_remote_fast(p, __builtin_return_address(0));
            return true;
        }
    }
    return false;
}

#endif /* HZ3_HOT_H */
