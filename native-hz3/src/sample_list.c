/*
 * sample_list.c: the lists a class's fast path pops, charged against the
 * blocks before the class's next sample point and cut there (sample.h,
 * _hz3_sample_charge, has the usual case inline; hz3_types.h, "Sampled
 * objects", says why lists are where sampling works).
 */
#include "hz3_hot.h"
#include "sample.h"

void _hz3_sample_list(hz3_heap_t *h, unsigned cls, void *p, size_t size, uint64_t mean)
{
    uint64_t sz = _hz3_classes[cls].size;
    if (HZ3_UNLIKELY(h->sample_gen != atomic_load_explicit(&_hz3_sample_gen, memory_order_relaxed)))
        _hz3_sample_redraw(h, mean);
    uint64_t *left = &h->sample_left[cls];
    if (*left == 0) {
        size_t off;
        _hz3_sample_take(p, size, sz, cls, _hz3_span_of(p, &off), mean);
        *left = _hz3_sample_blocks(mean, sz);
    } else {
        --*left;
    }
    hz3_span_t *s = h->cur[cls];
    if (!s->free) return;                      /* also the sentinel, and a single's class */
    uint64_t n = 0;                            /* blocks on the free list, counted up to the point */
    if (HZ3_LIKELY(!s->local_free)) n = s->extended - _hz3_used_get(s);
    else for (hz3_block_t *b = s->free; b && n <= *left; b = b->next) n++;
    if (n <= *left) {                          /* no point in it: the fast path pops it whole */
        *left -= n;
        return;
    }
    /* the point falls in block number *left of the list: the fast path pops
     * the blocks before it, and the malloc after them finds free empty */
    uint64_t fit = *left;
    *left = 0;
    hz3_block_t *rest;
    if (fit == 0) {
        rest = s->free;
        s->free = NULL;
    } else {
        hz3_block_t *last = s->free;
        for (uint64_t i = 1; i < fit; i++) last = last->next;
        rest = last->next;
        last->next = NULL;
    }
    if (s->local_free) {
        hz3_block_t *tail = rest;
        while (tail->next) tail = tail->next;
        tail->next = s->local_free;
    }
    s->local_free = rest;
}
