/*
 * single.c: the singles, medium classes above HZ3_MEDIUM_SHARED_MAX (20,
 * 24, 28 and 32 KiB): one object in a span of its page count
 * (size_class.c says why).
 *
 * A single never is a current span, so the fast path's pop misses on
 * every malloc of one; its free empties its span every time. Both used to
 * take the whole slow path (epoch, maintenance, refill logic) and, when a
 * heap's few kept singles ran out or overflowed, the page pool: 260 / 160
 * instructions per malloc / free. First comes the heap's block cache of
 * the class (bcache.c), as for every medium class: the local free
 * pushes the object there (hz3_hot.h) and malloc's pop takes it, neither
 * touching the span (mixed 4-32 KiB: 68.8 / 71.8 -> 37.0 / 60.5
 * instructions per malloc / free, bench/RESULTS.md, 2026-12-03
 * (afternoon)). A cached single is as it was while live: used 1, on no
 * list, where NONE, so no purge from any thread takes its pages while its
 * link lives in them; the census tells it from a live one by the free key
 * on its object and counts its pages empty and held (census.c, include/
 * hz3.h). Its flush (bcache.c) gives it back here as the owner's free
 * would (_hz3_single_uncache). Past the block cache, the short path below:
 *
 *   the cache    a heap's empty singles of a class, on its avail list of
 *                the class, where KEPT, most recent first (a LIFO: the
 *                pages last written are the ones reused), at most
 *                HZ3_SINGLE_CACHE_PAGES pages over all classes.
 *   malloc       pops the first one, with no lock and no atomic
 *                read-modify-write (the guard below), and goes to the
 *                slow path only when the class's list is empty or the
 *                slow path has a duty due (a maintenance request, spans
 *                queued by remote frees, sampling on).
 *   free         the owner's, past the block cache's bound, pushes its
 *                span (span.c, free_local_slow, sends it here first,
 *                under the same guard); a
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
 * Being KEPT on avail, a kept single is what it was before: an empty
 * span on its heap's lists, which a purge from any thread gives back and
 * the census counts as empty and a purge candidate (include/hz3.h); decay
 * and the thread's end give them back too (span_return.c).
 *
 * The guard: the cache's lists are the heap's, which a purge from another
 * thread walks under heap->lock, but the owner's hits do not take that
 * lock (an exchange on every malloc and free of a single was the largest
 * part of their cost). The owner announces itself instead: it stores
 * single_busy = 1, then reads the lock; a purger takes the lock, then
 * reads single_busy and waits for 0. One of the two sees the other's
 * store (Dekker), so either the owner finds the lock taken and goes the
 * locked way, or the purger waits for the owner's release of single_busy,
 * which publishes its list changes. A store followed by a load needs a
 * full fence between them on x86; the owner's side has none of its own:
 * the purger issues membarrier(PRIVATE_EXPEDITED), which runs one on
 * every CPU that runs a thread of the process (a microsecond or so, per
 * heap a purge visits; purges are rare). Where membarrier is refused (old
 * kernels, seccomp) or under ThreadSanitizer, which does not model it,
 * the owner's store is an exchange and the purger's a plain fence.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "hz3_hot.h"
#include "sample.h"

/* ---- the guard (above) ---- */
enum { FENCE_UNKNOWN, FENCE_ASYMMETRIC, FENCE_SYMMETRIC };
/* Set once, before any thread relies on it: an owner that reads UNKNOWN
 * uses the exchange, and a purger that reads it registers first, so
 * every owner that skipped its fence is paired with a membarrier. */
static _Atomic unsigned fence_mode;

static unsigned fence_register(void)
{
#if defined(__SANITIZE_THREAD__)
    unsigned m = FENCE_SYMMETRIC;
#else
    unsigned m = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
                     ? FENCE_ASYMMETRIC : FENCE_SYMMETRIC;
#endif
    unsigned unknown = FENCE_UNKNOWN;
    atomic_compare_exchange_strong_explicit(&fence_mode, &unknown, m, memory_order_acq_rel, memory_order_acquire);
    return atomic_load_explicit(&fence_mode, memory_order_acquire);
}

/* At load, before threads: the owners' hits go without their fence from
 * the start. (A registration is the process's, and a forked child has to
 * make its own: _hz3_single_after_fork_child.) */
__attribute__((constructor)) static void fence_init(void) { fence_register(); }

/* false: a purge holds (or is taking) the lock; the caller takes it too. */
static inline __attribute__((always_inline)) bool enter(hz3_heap_t *h)
{
    if (HZ3_LIKELY(atomic_load_explicit(&fence_mode, memory_order_relaxed) == FENCE_ASYMMETRIC)) {
        atomic_store_explicit(&h->single_busy, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
    } else {
        atomic_exchange_explicit(&h->single_busy, 1, memory_order_seq_cst);
    }
    /* acquire: a purge's changes, released by its unlock, are seen */
    if (HZ3_LIKELY(!atomic_load_explicit(&h->lock, memory_order_acquire))) return true;
    atomic_store_explicit(&h->single_busy, 0, memory_order_release);
    return false;
}
static inline __attribute__((always_inline)) void leave(hz3_heap_t *h)
{
    atomic_store_explicit(&h->single_busy, 0, memory_order_release);
}

void _hz3_single_exclude(hz3_heap_t *h)
{
    unsigned m = atomic_load_explicit(&fence_mode, memory_order_acquire);
    if (m == FENCE_UNKNOWN) m = fence_register();
    if (m == FENCE_ASYMMETRIC) syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    else atomic_thread_fence(memory_order_seq_cst);
    for (unsigned spins = 0; atomic_load_explicit(&h->single_busy, memory_order_acquire); spins++) {
        if (spins < 64) __builtin_ia32_pause();
        else sched_yield();
    }
}

void _hz3_single_after_fork_child(void)
{
    atomic_store_explicit(&fence_mode, FENCE_UNKNOWN, memory_order_relaxed);
    fence_register();
}

/* ---- malloc and free ---- */

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

/* Mallocs of singles per look at the slow path's duties (below). */
#define HZ3_SINGLE_DUTY_EVERY 32

/* The miss (or the hit's way out: a duty due, sampling on, a purge at the
 * lock). */
static HZ3_NOINLINE void *alloc_miss(hz3_heap_t *h, unsigned cls, size_t size)
{
    /* a class this thread allocates: its frees may be cached (above) */
    if (HZ3_UNLIKELY(!_hz3_bcache_limit(&h->bcache[cls]))) _hz3_bcache_arm(h, cls);
    /* Epochs start on slow paths, before the heap lock (an epoch may purge,
     * which takes every heap's lock): a miss is one, a hit is not. */
    _hz3_epoch_tick();
    _hz3_heap_lock(h);
    if (h->decay_gen == atomic_load_explicit(&_hz3_decay_gen, memory_order_relaxed) &&
        !atomic_load_explicit(&h->delayed, memory_order_relaxed)) {
        /* a kept one, when a purge or sampling sent the hit here */
        hz3_span_t *s = h->avail[cls].first;
        if (s) {
            _hz3_list_remove(&h->avail[cls], s);
            h->single_cache_pages -= s->pages;
        } else {
            s = _hz3_single_unabandon(h, cls);
        }
        if (s) {
            void *p = take(s);
            /* counted here as on the slow path (sample.h), under the lock */
            uint64_t mean = atomic_load_explicit(&_hz3_sample_mean, memory_order_acquire);
            if (HZ3_UNLIKELY(mean != 0)) _hz3_sample_charge(h, cls, p, size, mean);
            _hz3_heap_unlock(h);
            return p;
        }
    }
    void *p = _hz3_span_alloc_held(h, cls, size);
    if (!p) errno = ENOMEM;
    return p;
}

/* One malloc in HZ3_SINGLE_DUTY_EVERY: the slow path when a duty is due,
 * else the hit. */
static HZ3_NOINLINE void *duties_then_alloc(hz3_heap_t *h, unsigned cls, size_t size)
{
    h->single_hits = HZ3_SINGLE_DUTY_EVERY - 1;
    if (HZ3_UNLIKELY(!_hz3_bcache_limit(&h->bcache[cls]))) _hz3_bcache_arm(h, cls);
    /* _hz3_remote_flush_if_old, with the hits since the last look
     * counted at once: a batch waits at most HZ3_SINGLE_DUTY_EVERY
     * single mallocs past its age */
    if (h->remote.blocks != 0 && (h->remote.age += HZ3_SINGLE_DUTY_EVERY) >= HZ3_REMOTE_BATCH_AGE)
        _hz3_remote_batch_flush(h);
    if (h->decay_gen != atomic_load_explicit(&_hz3_decay_gen, memory_order_relaxed) ||
        atomic_load_explicit(&h->delayed, memory_order_relaxed))
        return alloc_miss(h, cls, size);
    return _hz3_single_alloc(h, cls, size);
}

/* The hit: the first kept single of the class. The slow path's duties
 * (a maintenance request, spans queued by remote frees, an old remote
 * batch) are looked at on one malloc in HZ3_SINGLE_DUTY_EVERY, not on
 * each: a thread that only reuses its singles still does them, a few
 * dozen mallocs late at most. Sampling on, or a purge at the lock, sends
 * every malloc the slow way. No register saved: the rest is out of line. */
void *_hz3_single_alloc(hz3_heap_t *h, unsigned cls, size_t size)
{
    if (HZ3_UNLIKELY(h->single_hits-- == 0)) return duties_then_alloc(h, cls, size);
    if (HZ3_UNLIKELY(atomic_load_explicit(&_hz3_sample_mean, memory_order_relaxed) || !enter(h)))
        return alloc_miss(h, cls, size);
    /* only kept singles are on a single class's avail list */
    hz3_span_t *s = h->avail[cls].first;
    if (HZ3_UNLIKELY(s == NULL)) {
        leave(h);
        return alloc_miss(h, cls, size);
    }
    hz3_span_t *next = s->next;
    h->avail[cls].first = next;
    if (next) next->prev = NULL;
    else h->avail[cls].last = NULL;
    h->single_cache_pages -= s->pages;
    /* neither KEPT nor NONE biases used (_hz3_where_set): plain stores */
    __atomic_store_n(&s->where, (uint8_t)HZ3_WHERE_NONE, __ATOMIC_RELAXED);
    leave(h);
    /* Off the lists: the owner's alone. Its object is the one block on
     * local_free, where its free put it (extended is 1 since its first take). */
    s->next = NULL;
    __atomic_store_n(&s->used, (uint16_t)1, __ATOMIC_RELEASE);
    hz3_block_t *b = s->local_free;
    s->local_free = NULL;
    _hz3_key_clear(b);
    return b;
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

/* The hit of a free: s into the cache when it has room. */
static inline __attribute__((always_inline)) bool keep_unlocked(hz3_heap_t *h, hz3_span_t *s)
{
    if (HZ3_UNLIKELY(!enter(h))) return false;
    bool room = h->single_cache_pages + s->pages <= HZ3_SINGLE_CACHE_PAGES;
    if (HZ3_LIKELY(room)) {
        h->single_cache_pages += s->pages;
        /* a live single is on no list (where NONE, used unbiased) */
        __atomic_store_n(&s->where, (uint8_t)HZ3_WHERE_KEPT, __ATOMIC_RELAXED);
        _hz3_list_push_front(&h->avail[s->cls], s);
    }
    leave(h);
    return room;
}

static HZ3_NOINLINE void keep_locked(hz3_heap_t *h, hz3_span_t *s)
{
    _hz3_heap_lock(h);
    _hz3_single_keep(h, s);
    _hz3_heap_unlock(h);
}

/* The owner's free emptied s (span.c, _hz3_free_local_slow). A live
 * single is on no list, so no purge has taken it meanwhile. First the
 * block cache of its class (above): its object off local_free, where the
 * free pushed it, and used back to 1, so that the span is as it was while
 * live (no list, where NONE) and the malloc fast path's pop hands the
 * object out again with no look at the span. */
void _hz3_single_free_local(hz3_heap_t *h, hz3_span_t *s)
{
    hz3_bcache_t *bc = &h->bcache[s->cls];
    uint16_t n = bc->count;
    if (HZ3_LIKELY(n < _hz3_bcache_limit(bc))) {
        hz3_block_t *b = s->local_free;
        s->local_free = NULL;
        /* release: a census that reads 1 sees the key the free stored */
        __atomic_store_n(&s->used, (uint16_t)1, __ATOMIC_RELEASE);
        b->next = bc->head;
        __atomic_store_n(&bc->head, b, __ATOMIC_RELAXED);
        __atomic_store_n(&bc->count, (uint16_t)(n + 1), __ATOMIC_RELAXED);
        return;
    }
    if (HZ3_LIKELY(keep_unlocked(h, s))) return;
    keep_locked(h, s);
}

/* s, a single on no list, becomes h's (the sample bit kept as it is). */
static void adopt(hz3_heap_t *h, hz3_span_t *s)
{
    uintptr_t old = (uintptr_t)atomic_load_explicit(&s->owner, memory_order_relaxed);
    atomic_store_explicit(&s->owner, (hz3_heap_t *)((uintptr_t)h | (old & HZ3_OWNER_SAMPLED)), memory_order_release);
    uint32_t *tag = _hz3_tags_of(s);
    uint32_t t = (__atomic_load_n(&tag[0], __ATOMIC_RELAXED) & ~(uint32_t)(HZ3_TAG_OWNER_MASK & ~HZ3_TAG_SAMPLED)) |
                 h->tag_owner;
    _hz3_tags_store(s, s->pages, t);
}

/* The singles of h's block caches (a chain through next), back as the
 * local free leaves them: into h's singles' cache (KEPT on avail, where a
 * purge from any thread takes them), past it abandoned or to the pool.
 * Those another thread made (a remote free put them in the cache) are
 * adopted first, as _hz3_single_free_remote does: the cache held the only
 * reference. locked: h->lock held by the caller. */
void _hz3_single_uncache(hz3_heap_t *h, hz3_block_t *b, bool locked)
{
    if (!locked) _hz3_heap_lock(h);
    while (b) {
        hz3_block_t *next = b->next;
        hz3_span_t *s = &_hz3_segment_of(b)->spans[_hz3_tag_head(_hz3_tag_of(b))];
        b->next = NULL;
        s->local_free = b;   /* keyed since its free */
        _hz3_used_set(s, 0);
        if (_hz3_owner_of(s) != h) adopt(h, s);
        _hz3_single_keep(h, s);
        b = next;
    }
    if (!locked) _hz3_heap_unlock(h);
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
    if (h == &_hz3_heap_empty) {
        if (!_hz3_single_abandon(s)) {
            _hz3_freed_note(b);
            _hz3_pool_give(s);
        }
        return;
    }
    /* The new owner (the generic free has forgotten the sample and
     * cleared its bit if this was one). */
    adopt(h, s);
    /* full: keep_locked abandons it (or gives it to the pool) */
    if (!keep_unlocked(h, s)) keep_locked(h, s);
}
