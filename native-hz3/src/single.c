/*
 * single.c: the singles, medium classes above HZ3_MEDIUM_SHARED_MAX (20,
 * 24, 28 and 32 KiB): one object in a span of its page count
 * (size_class.c says why).
 *
 * A single never is a current span, so the fast path's pop misses on
 * every malloc of one; its free empties its span every time. Both used to
 * take the whole slow path (epoch, maintenance, refill logic) and, when a
 * heap's few kept singles ran out or overflowed, the page pool: 260 / 160
 * instructions per malloc / free. Here they have a short path of their own:
 *
 *   the cache    a heap's empty singles of a class, on its avail list of
 *                the class, where KEPT, most recent first (a LIFO: the
 *                pages last written are the ones reused), at most
 *                HZ3_SINGLE_CACHE_PAGES pages over all classes.
 *   malloc       pops the first one, under the heap lock (one exchange,
 *                taken by another thread only for a purge), and goes to
 *                the slow path only when the class's list is empty or the
 *                slow path has a duty due (a maintenance request, spans
 *                queued by remote frees, sampling on).
 *   free         the owner's pushes its span (span.c, free_local_slow); a
 *                free from another thread adopts the span into the
 *                freeing thread's cache: a live single is on no list of
 *                its owner, so the thread that frees its object holds the
 *                only reference to it. A server whose objects are freed by
 *                other threads then reuses them where they are freed (as
 *                thread caches do), with no atomic on its owner's lines.
 *   overflow     a free into a full cache puts the span on the abandoned
 *                list of its class (span_return.c, _hz3_single_abandon), at most
 *                HZ3_SINGLE_DEPOT_PAGES pages per class, where a malloc
 *                that misses its heap's cache takes it (adopt) before the
 *                page pool: heaps' caches are per class, and a class's
 *                count of free objects drifts (a free of one class and a
 *                malloc of another), so a heap's misses and overflows are
 *                both common; the pool's search and bookkeeping cost about
 *                600 instructions a span, the list a tenth of that. Every
 *                epoch gives these back to the pool (empty abandoned
 *                spans); past the bound, so does the free.
 *
 * Being KEPT on avail, a cached single is what it was before: an empty
 * span on its heap's lists, which a purge from any thread gives back and
 * the census counts as empty and a purge candidate (include/hz3.h); decay
 * and the thread's end give them back too (span_return.c).
 */
#include <errno.h>
#include "hz3_hot.h"
#include "sample.h"

/* Hands out the span's object; s is on no list. A live single stays on
 * none, so that a free from any thread may take it (above). */
static inline void *take(hz3_span_t *s)
{
    _hz3_where_set(s, HZ3_WHERE_NONE);
    _hz3_used_set(s, 1);
    s->free = s->local_free = NULL;
    if (s->extended == 0) __atomic_store_n(&s->extended, (uint16_t)1, __ATOMIC_RELAXED);
    hz3_block_t *b = (hz3_block_t *)_hz3_span_start(s);
    _hz3_key_clear(b);
    return b;
}
void *_hz3_single_take(hz3_span_t *s) { return take(s); }

void *_hz3_single_alloc(hz3_heap_t *h, unsigned cls, size_t size)
{
    _hz3_remote_flush_if_old(h);
    _hz3_heap_lock(h);
    /* the slow path's other duties first, when due */
    if (HZ3_LIKELY(h->decay_gen == atomic_load_explicit(&_hz3_decay_gen, memory_order_relaxed)) &&
        !atomic_load_explicit(&h->delayed, memory_order_relaxed)) {
        hz3_span_t *s = h->avail[cls].first;
        if (HZ3_LIKELY(s != NULL)) {
            /* only kept singles are on a single class's avail list */
            h->avail[cls].first = s->next;
            if (s->next) s->next->prev = NULL;
            else h->avail[cls].last = NULL;
            s->next = NULL;
            h->single_cache_pages -= s->pages;
        } else {
            s = _hz3_single_unabandon(h, cls);
        }
        if (HZ3_LIKELY(s != NULL)) {
            void *p = take(s);
            /* counted here as on the slow path (sample.h), under the lock */
            uint64_t mean = atomic_load_explicit(&_hz3_sample_mean, memory_order_acquire);
            if (HZ3_UNLIKELY(mean != 0)) _hz3_sample_charge(h, cls, p, size, mean);
            _hz3_heap_unlock(h);
            return p;
        }
    }
    /* Epochs start on slow paths, before the heap lock (an epoch may purge,
     * which takes every heap's lock): a miss is one, a hit is not. */
    _hz3_heap_unlock(h);
    _hz3_epoch_tick();
    _hz3_heap_lock(h);
    void *p = _hz3_span_alloc_held(h, cls, size);
    if (!p) errno = ENOMEM;
    return p;
}

/* The owner's free emptied s (h->lock held, s owned by h). */
void _hz3_single_keep(hz3_heap_t *h, hz3_span_t *s)
{
    if (h->single_cache_pages + s->pages <= HZ3_SINGLE_CACHE_PAGES) {
        h->single_cache_pages += s->pages;
        _hz3_where_set(s, HZ3_WHERE_KEPT);
        _hz3_list_push_front(&h->avail[s->cls], s);
    } else if (!_hz3_single_abandon(s)) {
        _hz3_freed_note(_hz3_span_start(s));
        _hz3_pool_give(s);
    }
}

/* A free of a span's only object (a single, or a run: no owner, never
 * cached) from a thread that does not own the span, after the generic
 * free's checks (and the sample's forgetting). */
void _hz3_single_free_remote(hz3_span_t *s, hz3_block_t *b)
{
    hz3_heap_t *h = _hz3_tl_heap;
    if (s->cls == HZ3_CLASS_RUN) {
        _hz3_freed_note(b);
        _hz3_pool_give(s);
        return;
    }
    /* As the owner's free leaves it: on local_free with the key, where a
     * second free of it is found. */
    b->next = NULL;
    _hz3_key_set(b);
    s->local_free = b;
    _hz3_used_set(s, 0);
    if (h == &_hz3_heap_empty || h->single_cache_pages + s->pages > HZ3_SINGLE_CACHE_PAGES) {
        if (!_hz3_single_abandon(s)) {
            _hz3_freed_note(b);
            _hz3_pool_give(s);
        }
        return;
    }
    /* The new owner, the sample bit kept as it is (the generic free has
     * forgotten the sample and cleared it if this was one). */
    uintptr_t old = (uintptr_t)atomic_load_explicit(&s->owner, memory_order_relaxed);
    atomic_store_explicit(&s->owner, (hz3_heap_t *)((uintptr_t)h | (old & HZ3_OWNER_SAMPLED)), memory_order_release);
    uint32_t *tag = _hz3_tags_of(s);
    uint32_t t = (__atomic_load_n(&tag[0], __ATOMIC_RELAXED) & ~(uint32_t)(HZ3_TAG_OWNER_MASK & ~HZ3_TAG_SAMPLED)) |
                 h->tag_owner;
    _hz3_tags_store(s, s->pages, t);
    _hz3_heap_lock(h);
    _hz3_single_keep(h, s);
    _hz3_heap_unlock(h);
}
