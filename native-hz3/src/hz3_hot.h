/*
 * hz3_hot.h: the malloc and free fast paths, and nothing else.
 *
 * Budget: a malloc of a shared class (small, sub4k, medium to 16 KiB) is a
 * table lookup, two loads, a pop (one test) and one store (the free key
 * cleared); when the span's list runs dry, the miss branch takes over the
 * blocks freed since (local_free) unless sampling is on. A local free is a
 * segment-map test, the page's tag (owner, head page and class in one
 * word), an owner compare, the start-of-object check, the free-key compare
 * and a push with the key (one test for "empty or was full"); a medium
 * block's start-of-object check also reads its span's carved count. A free
 * of another thread's block leaves after the owner
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
         * alloc.c. On the miss branch only, each load once. */
        if (HZ3_UNLIKELY(b == NULL)) {
            b = s->local_free;
            if (b == NULL || atomic_load_explicit(&_hz3_sample_mean, memory_order_relaxed)) goto slow;
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

/* True when off is the start of one of the span's blocks carved so far
 * (medium spans are carved lazily: a block past `extended` was never
 * handed out). One multiply gives both halves: the low one is below
 * divisible exactly when off is a multiple of the size, the high one is
 * off / size (exact for offsets below 2^32). */
static inline bool _hz3_is_block_start_c(const hz3_free_check_t *c, const hz3_span_t *s, size_t off)
{
    unsigned __int128 m = (unsigned __int128)off * c->divisible;
    return (uint64_t)m < c->divisible && (uint64_t)(m >> 64) < __atomic_load_n(&s->extended, __ATOMIC_RELAXED);
}
static inline bool _hz3_is_block_start(const hz3_span_t *s, size_t off)
{
    return _hz3_is_block_start_c(&_hz3_free_check[s->cls], s, off);
}
/* The free paths' check, from the page tag's class alone when the class's
 * spans are carved whole: below blocks_end every block was carved, so the
 * span entry's line (written by its owner all the time) is not read. A
 * lazily carved class has blocks_end 0 in the table (size_class.c) and
 * takes the bound from the span's carved count, as does an offset past the
 * blocks (then off / size >= capacity >= extended: refused). */
static inline bool _hz3_is_block_start_f(const hz3_free_check_t *c, const hz3_span_t *s, size_t off)
{
    /* bound first: then the multiply may overwrite off (no copy kept) */
    if (HZ3_LIKELY(off < c->blocks_end)) return off * c->divisible < c->divisible;
    return _hz3_is_block_start_c(c, s, off);
}
/* The free check of a page tag's class: byte 3 of the tag is class << 2,
 * scaled by 4 in the load's address (no shift or multiply of its own). */
static inline const hz3_free_check_t *_hz3_free_check_of(uint32_t t)
{
    return (const hz3_free_check_t *)((const char *)_hz3_free_check + ((size_t)(t >> 24) << 2));
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

/* The local free, and the remote one into the thread's batch (remote.c,
 * which itself sends what it cannot check to _hz3_free_generic); false
 * sends the caller to _hz3_free_generic (foreign and bad pointers,
 * suspected double frees, NULL). The page's tag, not its span entry, says
 * whose it is: a free from another thread leaves without reading the
 * entry's line. Always inlined into free, even in the debug build:
 * __builtin_return_address then names free's caller. */
static inline __attribute__((always_inline)) bool _hz3_free_fast(void *p)
{
    if (HZ3_LIKELY(_hz3_is_segment((uintptr_t)p))) {
        size_t in_seg = (uintptr_t)p & HZ3_SEG_MASK;
        hz3_segment_t *seg = (hz3_segment_t *)((uintptr_t)p - in_seg);
        uint32_t t = _hz3_tag_at(seg, in_seg);
        hz3_heap_t *h = _hz3_tl_heap;
        if (HZ3_LIKELY((uint16_t)t == h->tag_self)) {
            unsigned head = _hz3_tag_head(t);
            size_t off = in_seg - ((size_t)head << HZ3_PAGE_SHIFT);
            hz3_span_t *s = &seg->spans[head];
            /* one register for the entry: gcc would otherwise form its
             * address twice, from the segment and from the head index */
            __asm__("" : "+r"(s));
            hz3_block_t *b = (hz3_block_t *)p;
            /* An interior pointer is off the grid (tested first: only a
             * block start has its second word inside the block); a block
             * freed already carries the free key (or user data that equals
             * it: the generic path tells the two apart by looking on the
             * span's lists). */
            if (HZ3_LIKELY(!HZ3_FREE_CHECKS ||
                           (_hz3_is_block_start_f(_hz3_free_check_of(t), s, off) && !_hz3_key_found(b)))) {
                b->next = s->local_free;
                _hz3_key_set(b);
                s->local_free = b;
                if (HZ3_UNLIKELY(_hz3_used_dec(s) || _hz3_where_get(s) == HZ3_WHERE_FULL)) _hz3_free_local_slow(h, s);
                return true;
            }
        } else {
            /* A tail call with the pointer alone (it reads the tag again):
             * the local path keeps no register for it. */
            _hz3_free_remote_fast(p, __builtin_return_address(0));
            return true;
        }
    }
    return false;
}

#endif /* HZ3_HOT_H */
