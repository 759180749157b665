/*
 * hz3_hot.h: the malloc and free fast paths, and nothing else.
 *
 * Budget: a malloc of a shared class (small, sub4k, medium to 16 KiB) first
 * pops the class's block cache (bcache.c: the blocks this thread freed
 * last, its own and other threads', LIFO as tcmalloc's per-thread lists): a
 * table lookup, a load and test, the pop and the free key cleared (21
 * instructions to ret, where the span's pop took 17). An empty cache sends
 * it to its span: a pop (one test) and one store (the key cleared); when
 * the span's list runs dry, the miss branch takes over the blocks freed
 * since (local_free) unless sampling is on, before it calls the slow path.
 * A local free is its segment slot's load and one compare, the page's tag
 * (owner, head page and class in one word), an owner compare, the
 * start-of-object check (one multiply, one compare), the free-key compare,
 * and a push with the key onto the class's cache while it has room (none
 * while sampling is on: turning it on zeroes every cache's limit, heap.c,
 * so that the free tests nothing for it); else onto its span, with one decrement-and-test of used for
 * "now empty, or due back on avail" (a full span's used is biased for it:
 * hz3_internal.h). (A page not carved whole refuses by its tag's class:
 * hz3_types.h, "Page tags".) Why the cache first: under many live blocks the
 * block a malloc pops from a span was freed long ago and its line is cold,
 * and the local free wrote the entry of a random span; the block freed last
 * is the one whose line the free's key compare just brought in
 * (bench/RESULTS.md, 2026-12-03 (evening)). A free of another thread's
 * block leaves after the owner compare with the tag, for the block cache of
 * the tag's class or the remote batch (remote.c), with no atomic.
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
        unsigned cls = _hz3_class_of16[(size + 15) >> 4];
        /* The class's block cache first (bcache.c): the blocks this thread
         * freed last, LIFO, whose lines the free's key check brought in.
         * With sampling on no free pushes here (the samples are counted on
         * the span paths), and the blocks cached before it was turned on
         * go out once, uncharged: at most a cache's limit per class and
         * thread. The empty heap's caches are empty. */
        hz3_bcache_t *bc = (hz3_bcache_t *)((char *)h->bcache + ((size_t)cls << 4));
        hz3_block_t *b = bc->head;
        if (HZ3_LIKELY(b != NULL)) {
            __atomic_store_n(&bc->head, b->next, __ATOMIC_RELAXED);
            __atomic_store_n(&bc->count, (uint16_t)(bc->count - 1), __ATOMIC_RELAXED);
            _hz3_key_clear(b);
            return b;
        }
        hz3_span_t *s = h->cur[cls];
        b = s->free;
        if (HZ3_UNLIKELY(b == NULL)) {
            /* free ran dry: take over the blocks freed since (local_free,
             * see hz3_types.h) unless sampling is on, which cuts lists in
             * alloc.c. On the miss branch only, each load once. */
            b = s->local_free;
            if (b == NULL) goto slow;
            if (atomic_load_explicit(&_hz3_sample_mean, memory_order_relaxed)) goto slow;
            s->local_free = NULL;
        }
        s->free = b->next;
        _hz3_key_clear(b);
        _hz3_used_inc(s);
        return b;
    }
slow:
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

/* True when m = off * c->divisible (hz3_types.h, hz3_free_check_t) is
 * the offset of one of the span's blocks carved so far (medium spans are
 * carved lazily: a block past `extended` was never handed out). */
static inline bool _hz3_is_carved_m(const hz3_free_check_t *c, const hz3_span_t *s, uint64_t m)
{
    return m < (uint64_t)__atomic_load_n(&s->extended, __ATOMIC_RELAXED) * c->e;
}
static inline bool _hz3_is_block_start_c(const hz3_free_check_t *c, const hz3_span_t *s, size_t off)
{
    return _hz3_is_carved_m(c, s, off * c->divisible);
}
static inline bool _hz3_is_block_start(const hz3_span_t *s, size_t off)
{
    return _hz3_is_block_start_c(&_hz3_free_check[s->cls], s, off);
}
/* The free paths' check, from the page tag's class alone: one multiply and
 * one compare (hz3_types.h, hz3_free_check_t), and the span entry's line
 * (written by its owner all the time) is not read. A page of a lazily
 * carved class holding a block start not yet carved is tagged
 * HZ3_CLASS_REFUSE (bound 0: "Page tags"), so its frees, bad ones
 * included, go to the generic path, which checks the carved count. */
static inline bool _hz3_is_block_start_f(const hz3_free_check_t *c, size_t off)
{
    return HZ3_LIKELY(off * c->divisible < c->bound);
}
/* The free check of a page tag's class: byte 3 of the tag is class << 2,
 * scaled by 8 in the load's address (no shift or multiply of its own). */
static inline const hz3_free_check_t *_hz3_free_check_of(uint32_t t)
{
    return (const hz3_free_check_t *)((const char *)_hz3_free_check + ((size_t)(t >> 24) << 3));
}

/* The page tag of p, known to lie in a segment (hz3_types.h, "Page tags"),
 * from p's offset in its segment (in_seg) and the segment's address. */
static inline uint32_t _hz3_tag_at(hz3_segment_t *seg, size_t in_seg)
{
    return __atomic_load_n(&seg->tag[in_seg >> HZ3_PAGE_SHIFT], __ATOMIC_RELAXED);
}
static inline uint32_t _hz3_tag_of(const void *p)
{
    return _hz3_tag_at(_hz3_segment_of(p), (uintptr_t)p & HZ3_SEG_MASK);
}

/* The local free's push onto its span, with the key, and one
 * decrement-and-test of used for "now empty, or a full span due back on
 * avail" (its used is biased while it is full: hz3_internal.h). */
static inline __attribute__((always_inline)) void _hz3_free_push(hz3_span_t *s, hz3_block_t *b)
{
    b->next = s->local_free;
    _hz3_key_set(b);
    s->local_free = b;
    if (HZ3_UNLIKELY(_hz3_used_dec(s))) _hz3_free_local_slow(_hz3_tl_heap, s);   /* empty, or rejoins */
}

/* The local free, and the remote one into the thread's batch (remote.c,
 * which itself sends what it cannot check to _hz3_free_generic), of p in
 * the segment that ends at `end`, past its header pages; false sends the
 * caller to _hz3_free_generic (bad pointers, suspected double frees).
 * caller is free's caller, NULL when inlined into free. The page's tag,
 * not its span entry, says whose it is: a free from another thread leaves
 * without reading the entry's line. */
static inline __attribute__((always_inline)) bool _hz3_free_in(void *p, uintptr_t end, const void *caller)
{
    /* back: p's offset from the segment's end (negative), which the slot
     * test computed already. Counted from the end of the tags (a constant
     * from end), its page number indexes p's tag in the load itself. */
    intptr_t back = (intptr_t)((uintptr_t)p - end);
    hz3_segment_t *seg = (hz3_segment_t *)(end - HZ3_SEG_SIZE);
    size_t in_seg = (size_t)back + HZ3_SEG_SIZE;
    uint32_t *tags_end = (uint32_t *)(end - HZ3_SEG_SIZE + sizeof seg->tag);
    uint32_t t = __atomic_load_n(&tags_end[back >> HZ3_PAGE_SHIFT], __ATOMIC_RELAXED);
    if (HZ3_LIKELY((uint16_t)t == _hz3_tl_tag_self)) {
        /* The head page's index, left in place in the tag, scaled by a
         * shift alone to its entry's offset (entries are 64 bytes) and to
         * its page's byte offset. */
        uint32_t head = t & (0xFFu << HZ3_TAG_HEAD_SHIFT);
#define HZ3_SPAN_AT_HEAD(head) ((hz3_span_t *)((char *)seg->spans + ((head) >> (HZ3_TAG_HEAD_SHIFT - 6))))
        size_t off = in_seg - (head >> (HZ3_TAG_HEAD_SHIFT - HZ3_PAGE_SHIFT));
        hz3_block_t *b = (hz3_block_t *)p;
        /* An interior pointer is off the grid (tested first: only a
         * block start has its second word inside the block); a block
         * freed already carries the free key (or user data that equals
         * it: the generic path tells the two apart by looking on the
         * span's lists). */
        const hz3_free_check_t *c = _hz3_free_check_of(t);
        uint64_t m = off * c->divisible;
        if (HZ3_LIKELY(!HZ3_FREE_CHECKS || (m < c->bound && !_hz3_key_found(b)))) {
            /* Into the class's block cache while it has room (limit is 0
             * until the class's first slow path, and while sampling is on):
             * the next malloc of the class takes it back, hot, and the
             * span's entry is not touched (its used still counts the
             * block, bcache.c). */
            hz3_bcache_t *bc = (hz3_bcache_t *)((char *)_hz3_tl_heap->bcache + ((size_t)(t >> HZ3_TAG_CLS_SHIFT) << 4));
            uint16_t n = bc->count;
            if (HZ3_LIKELY(n < _hz3_bcache_limit(bc))) {
                _hz3_key_set(b);
                b->next = bc->head;
                __atomic_store_n(&bc->head, b, __ATOMIC_RELAXED);
                __atomic_store_n(&bc->count, (uint16_t)(n + 1), __ATOMIC_RELAXED);
                return true;
            }
            /* the span entry's address, computed here and not before the
             * branches (a register move keeps it off the cache's path) */
            __asm__("" : "+r"(head));
            _hz3_free_push(HZ3_SPAN_AT_HEAD(head), b);
            return true;
        }
        return false;
#undef HZ3_SPAN_AT_HEAD
    }
    /* Another thread's block: a tail call with the tag, which has the
     * class of the block cache it goes to (remote.c); the local path keeps
     * no register for it, nor loads free's caller (NULL: inlined into
     * free, whose return address names it). */
    _hz3_free_remote_fast(p, t, caller ? caller : __builtin_return_address(0));
    return true;
}

/* free's fast path; false sends free to _hz3_free_generic (bad pointers,
 * suspected double frees). The segment comes from its slot (hz3_internal.h,
 * "The segment slots"): one load, and one compare says that p lies past the
 * header pages of the segment found there. Any other pointer (NULL, of no
 * segment, or of a segment its slot does not hold) goes to
 * _hz3_free_unslotted, which calls the generic path itself. Always inlined
 * into free, even in the debug build: __builtin_return_address then names
 * free's caller. */
static inline __attribute__((always_inline)) bool _hz3_free_fast(void *p)
{
    uintptr_t end = __atomic_load_n(&_hz3_seg_ends[_hz3_seg_slot((uintptr_t)p)], __ATOMIC_RELAXED);
    if (HZ3_LIKELY((uintptr_t)p - end >= -HZ3_SEG_BLOCK_BYTES)) return _hz3_free_in(p, end, NULL);
    _hz3_free_unslotted(p, __builtin_return_address(0));
    return true;
}

#endif /* HZ3_HOT_H */
