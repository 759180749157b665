/*
 * span.c: a heap's spans: refill when the current span runs dry, frees that
 * empty a span or bring it back from the full list, and frees from other
 * threads (pushed in chains by remote.c). Spans going back (abandoned,
 * decayed, purged, or released when a thread ends) are span_return.c's.
 *
 * Notification protocol for full spans (thread_free state bits)
 *   The owner moves a span with no free block to heap->full and sets NOTIFY.
 *   The first remote free that sees NOTIFY swaps it for NOTIFYING (in the
 *   same CAS that pushes the block) and pushes the span on owner->delayed.
 *   The owner drains delayed on its slow path, puts the spans back on
 *   avail and resets NOTIFYING to NORMAL. While a span is NOTIFYING it is
 *   on (or about to be on) delayed, so the owner never sets NOTIFY again
 *   before draining: a span is on delayed at most once. A thread that ends
 *   turns every span to NEVER, draining delayed until none is NOTIFYING,
 *   so no freeing thread can still be about to touch its heap.
 */
#include <errno.h>
#include <string.h>
#include "hz3_hot.h"
#include "sample.h"
#include "span_state.h"

hz3_span_t _hz3_span_sentinel;

/* Sets the notify state from NORMAL; false if remote frees arrived first
 * (collect them) or the span is already queued on delayed (NOTIFYING). */
static bool set_notify(hz3_span_t *s)
{
    uintptr_t old = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
    for (;;) {
        if (hz3_tf_ptr(old) || hz3_tf_state(old) != HZ3_TF_NORMAL) return false;
        if (atomic_compare_exchange_weak_explicit(&s->thread_free, &old, hz3_tf_make(NULL, 0, HZ3_TF_NOTIFY),
                                                  memory_order_acq_rel, memory_order_relaxed))
            return true;
    }
}

void _hz3_heap_drain_delayed(hz3_heap_t *h)
{
    hz3_span_t *s = atomic_exchange_explicit(&h->delayed, NULL, memory_order_acquire);
    while (s) {
        hz3_span_t *next = *_hz3_delayed_link(s);
        *_hz3_delayed_link(s) = NULL;
        if (s->where == HZ3_WHERE_FULL) {
            _hz3_list_remove(&h->full[s->cls], s);
            _hz3_where_set(s, HZ3_WHERE_AVAIL);
            _hz3_list_push_front(&h->avail[s->cls], s);
        }
        set_state(s, HZ3_TF_NOTIFYING, HZ3_TF_NORMAL);
        s = next;
    }
}

/* Blocks carved per refill: a sub4k span's first refill carves
 * HZ3_SUB4K_EXTEND blocks and each next one as many as it holds already
 * (2, 4, 8, 16, and on to a page's end: extend). A class a thread uses
 * rarely then writes the pages of one or two blocks of its 5-14 (glibc_thread:
 * seven classes per thread, a few live objects in all, had every page of
 * its current spans written), while a class in steady use pays three more
 * slow paths per new span, most spans being reused carved. */
#ifndef HZ3_SUB4K_EXTEND
#define HZ3_SUB4K_EXTEND 2
#endif

#ifndef HZ3_POPULATE_CARVED
#define HZ3_POPULATE_CARVED 1
#endif

/* Whether a page of s holding bytes [from, to) of it went back to the pool
 * no time since its segment was mapped or it was decommitted: never
 * written since, not resident. */
static bool has_fresh_page(const hz3_span_t *s, size_t from, size_t to)
{
    for (size_t p = from >> HZ3_PAGE_SHIFT; p <= (to - 1) >> HZ3_PAGE_SHIFT; p++)
        if (!(s[p].page_flags & HZ3_PAGE_DIRTY)) return true;
    return false;
}

static unsigned carve_step(const hz3_class_t *c, unsigned extended)
{
    if (c->tier == HZ3_TIER_SUB4K) return extended ? extended : HZ3_SUB4K_EXTEND;
    if (HZ3_MEDIUM_EXTEND && c->tier == HZ3_TIER_MEDIUM) return HZ3_MEDIUM_EXTEND;
    return c->capacity;
}

/* Pages [from, to) of s now hold carved blocks alone: their tags take the
 * span's class in place of HZ3_CLASS_REFUSE, so that the free paths check
 * their blocks by the class's bound (hz3_types.h, "Page tags"). A CAS: a
 * sample mark may change the tag's low bits meanwhile (sample.c). */
static void retag(hz3_span_t *s, unsigned from, unsigned to)
{
    uint32_t *tag = _hz3_tags_of(s);
    const uint32_t cls_mask = 0x3Fu << HZ3_TAG_CLS_SHIFT, cls_bits = (uint32_t)s->cls << HZ3_TAG_CLS_SHIFT;
    for (unsigned i = from; i < to; i++) {
        uint32_t t = __atomic_load_n(&tag[i], __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&tag[i], &t, (t & ~cls_mask) | cls_bits, true, __ATOMIC_RELEASE,
                                            __ATOMIC_RELAXED)) {
        }
    }
}

/* Threads blocks not yet carved onto the free list, in address order: all
 * of them in a small span, a few at a time in a sub4k or medium one
 * (carve_step), whose pages then stay untouched until a block on them is
 * handed out. Their tags say HZ3_CLASS_REFUSE until carved (retag), so
 * the free of a block never carved is refused as before, when it was
 * carved and keyed. */
static void extend(hz3_span_t *s)
{
    const hz3_class_t *c = &_hz3_classes[s->cls];
    unsigned end = s->capacity, step = carve_step(c, s->extended);
    if (end - s->extended > step) end = s->extended + step;
    /* on to the end of the page the last block starts on: a page with
     * blocks both carved and not keeps its tag refusing (retag), which
     * would send the frees of its carved ones to the generic path. The
     * blocks added start on that page, written already. */
    while (end < s->capacity && ((size_t)(end - 1) * c->size) >> HZ3_PAGE_SHIFT == ((size_t)end * c->size) >> HZ3_PAGE_SHIFT)
        end++;
    uint8_t *start = _hz3_span_start(s);
    /* Blocks of a page or less: the loop below writes every page of the
     * range, each a fault if it is fresh. One call faults them all in at
     * once (larson: -96% of its traps, -15% CPU; bench/RESULTS.md,
     * 2026-12-03 (late)), made only when a page of the range never went
     * back to the pool since it was mapped or decommitted: pages given back
     * (HZ3_PAGE_DIRTY, left on a span's entries while it is in use) are
     * most likely resident, and the call would be a syscall for nothing
     * (glibc_simple, whose spans come back from its kept ones: +57% CPU
     * before this test). Bigger blocks' pages past their first are left to
     * their users. */
    size_t from_byte = (size_t)s->extended * c->size, to_byte = (size_t)end * c->size;
    if (HZ3_POPULATE_CARVED && c->size <= HZ3_PAGE_SIZE && has_fresh_page(s, from_byte, to_byte))
        _hz3_os_populate(start + from_byte, to_byte - from_byte);
    hz3_block_t *head = NULL;
    for (unsigned i = end; i-- > s->extended;) {
        hz3_block_t *b = (hz3_block_t *)(start + (size_t)i * c->size);
        b->next = head;
        _hz3_key_set(b);   /* free: a free of it before it is handed out is caught */
        head = b;
    }
    s->free = head;
    unsigned from = _hz3_pages_carved(s, s->extended);
    /* extended before the tags: a walker (validate.c) that sees a page
     * tagged with the class sees its blocks carved */
    __atomic_store_n(&s->extended, (uint16_t)end, __ATOMIC_RELEASE);
    if (_hz3_class_lazy(c)) retag(s, from, _hz3_pages_carved(s, end));
}

/* Gives the span a free list to pop if it has any free block: local_free
 * becomes the free list once free is dry (the split of hz3_types.h), remote
 * frees join local_free, and blocks never carved come last. local_free is
 * taken over before the collect, so that the remote chain lands on an
 * empty local_free and is not walked for its tail: its blocks are lines
 * the freeing threads wrote last, one cache miss each, and the walk was
 * two thirds of rptest's allocation slow path in perf's samples
 * (bench/RESULTS.md, 2026-12-03 (late)).
 * The blocks this thread freed, hot, are then handed out first. */
static inline __attribute__((always_inline)) bool refill(hz3_span_t *s)
{
    if (!s->free) {
        s->free = s->local_free;
        s->local_free = NULL;
    }
    collect(s);
    if (!s->free) {
        s->free = s->local_free;
        s->local_free = NULL;
    }
    if (!s->free && s->extended < s->capacity) extend(s);
    return s->free != NULL;
}

static inline void *pop(hz3_span_t *s)
{
    hz3_block_t *b = s->free;
    s->free = b->next;
    _hz3_key_clear(b);
    _hz3_used_inc(s);
    return b;
}

static void move_to_full(hz3_heap_t *h, hz3_span_t *s)
{
    _hz3_where_set(s, HZ3_WHERE_FULL);
    _hz3_list_push_front(&h->full[s->cls], s);
}

/* A small or sub4k class that needs a new span first takes an empty span
 * the heap keeps for another class of as many pages, made one of its own
 * (_hz3_pool_reclass: no search of the pool). A thread that moves from one
 * size to the next (glibc_simple: runs of 16, then 32, 64 and 128 B) held
 * each size's kept spans as well as the new size's pages; it now reuses
 * them. Medium spans are sized by their thread's use (heap.c) and singles
 * have their own cache (single.c). */
static hz3_span_t *take_kept_of_other(hz3_heap_t *h, unsigned cls)
{
    const hz3_class_t *c = &_hz3_classes[cls];
    if (c->tier != HZ3_TIER_SMALL && c->tier != HZ3_TIER_SUB4K) return NULL;
    /* eight classes' counts a load: most are 0 */
    for (unsigned w = 0; w < HZ3_MAX_CLASSES; w += 8) {
        uint64_t kept;
        memcpy(&kept, &h->empty_kept[w], sizeof kept);
        for (unsigned d = w; kept; kept >>= 8, d++) {
            if (!(kept & 0xFF) || _hz3_classes[d].pages != c->pages || _hz3_classes[d].capacity == 1) continue;
            hz3_span_t *s = h->avail[d].last;   /* kept spans go at the back (free_local_slow_locked) */
            if (!s || s->where != HZ3_WHERE_KEPT) continue;
            _hz3_list_remove(&h->avail[d], s);
            h->empty_kept[d]--;
            h->kept_pages -= s->pages;
            _hz3_pool_reclass(s, cls, h);
            return s;
        }
    }
    return NULL;
}

static void *alloc_slow_locked(hz3_heap_t *h, unsigned cls)
{
    uint64_t gen = atomic_load_explicit(&_hz3_decay_gen, memory_order_relaxed);
    if (HZ3_UNLIKELY(h->decay_gen != gen)) {
        h->decay_gen = gen;
        _hz3_heap_decay(h);
    }
    if (atomic_load_explicit(&h->delayed, memory_order_relaxed)) _hz3_heap_drain_delayed(h);
    bool single = _hz3_classes[cls].capacity == 1;

    hz3_span_t *s = h->cur[cls];
    if (s != &_hz3_span_sentinel) {
        if (refill(s)) return pop(s);
        h->cur[cls] = &_hz3_span_sentinel;
        if (set_notify(s)) move_to_full(h, s);
        else if (hz3_tf_state(atomic_load_explicit(&s->thread_free, memory_order_relaxed)) == HZ3_TF_NOTIFYING)
            move_to_full(h, s);   /* already queued on delayed: comes back from there */
        else {                    /* remote frees arrived meanwhile */
            refill(s);
            h->cur[cls] = s;
            return pop(s);
        }
    }

    while ((s = h->avail[cls].first) != NULL) {
        _hz3_list_remove(&h->avail[cls], s);
        bool kept = s->where == HZ3_WHERE_KEPT;
        _hz3_where_set(s, HZ3_WHERE_NONE);
        if (kept) {
            if (single) {
                h->single_cache_pages -= s->pages;
                return _hz3_single_take(s);
            }
            if (h->empty_kept[cls]) {
                h->empty_kept[cls]--;
                h->kept_pages -= s->pages;
            }
        }
        if (refill(s)) goto use;
        if (set_notify(s) ||
            hz3_tf_state(atomic_load_explicit(&s->thread_free, memory_order_relaxed)) == HZ3_TF_NOTIFYING) {
            move_to_full(h, s);
            continue;
        }
        refill(s);
        goto use;
    }

    /* Spans left by ended threads, and empty singles that a heap's cache
     * had no room for (_hz3_single_abandon). */
    while ((s = _hz3_abandoned_adopt(h, cls)) != NULL) {
        if (refill(s)) goto use;
        if (set_notify(s)) { move_to_full(h, s); continue; }
        refill(s);
        goto use;
    }

    s = take_kept_of_other(h, cls);
    if (!s) s = _hz3_heap_take_span(h, cls);
    if (!s) return NULL;
    if (single) return _hz3_single_take(s);

use:
    if (single) return _hz3_single_take(s);   /* never on avail unkept or abandoned: a guard */
    if (!s->free) refill(s);
    h->cur[cls] = s;
    return pop(s);
}

void *_hz3_span_pop_sampled(hz3_heap_t *h, hz3_span_t *s, unsigned cls, size_t size, uint64_t mean)
{
    void *p = pop(s);
    _hz3_sample_charge(h, cls, p, size, mean);
    return p;
}

void *_hz3_span_alloc_slow(hz3_heap_t *h, unsigned cls, size_t size)
{
    /* Slow paths are where epochs start (before the heap lock: an epoch
     * may purge, which takes every heap's lock), and where a heap acts on
     * a maintenance request. */
    _hz3_remote_flush_if_old(h);
    /* a class this thread allocates: its block cache may fill (bcache.c) */
    if (HZ3_UNLIKELY(!_hz3_bcache_limit(&h->bcache[cls]))) _hz3_bcache_arm(h, cls);
    _hz3_epoch_tick();
    _hz3_heap_lock(h);
    return _hz3_span_alloc_held(h, cls, size);
}

void *_hz3_span_alloc_held(hz3_heap_t *h, unsigned cls, size_t size)
{
    void *p = alloc_slow_locked(h, cls);
    uint64_t mean = atomic_load_explicit(&_hz3_sample_mean, memory_order_acquire);
    if (HZ3_UNLIKELY(mean != 0) && p) _hz3_sample_charge(h, cls, p, size, mean);
    _hz3_heap_unlock(h);
    return p;
}

/* Whether h keeps the empty span s of class cls (not current) on its avail
 * list, at the back so that partial spans fill first, rather than give it
 * back. A thread that makes and frees runs of blocks (glibc_simple: up to
 * 1600 of 16-128 B, 50 one-page spans) otherwise gives each span to the
 * pool and takes it back, carved anew, under the pool lock. One span per
 * class always (HZ3_SMALL_EMPTY_KEEP); more while the heap's kept pages of
 * all classes together stay within HZ3_EMPTY_KEEP_PAGES (64, 256 KiB), so
 * that a thread churning one class keeps all it needs (a limit of 16 pages
 * a class left glibc_simple 34 spans a round to give back and take again:
 * 64 pages together take its malloc from 30.1 to 25.9 instructions and its
 * free from 50.6 to 49.1), and one churning many holds no more than
 * before (16 pages a class held up to 64 KiB times the classes: a JVM of
 * 200 threads using 10 classes, 128 MB). Kept pages were in use by the
 * thread a moment before (its peak is not raised); decay (its next slow
 * path after a timer epoch) and purges give them back (bench/RESULTS.md,
 * 2026-12-03 (late)). */
static bool keep_empty(const hz3_heap_t *h, unsigned cls, const hz3_span_t *s)
{
    return h->empty_kept[cls] < HZ3_SMALL_EMPTY_KEEP || h->kept_pages + s->pages <= HZ3_EMPTY_KEEP_PAGES;
}

/* Called after a local free pushed the block and decremented used, when the
 * span became empty or was on the full list. A purge on another thread may
 * have given the span back between that free and this lock (it was empty,
 * and not current): then it is no longer ours, and nothing is left to do.
 * (While this thread runs here it takes no span, so owner == h means the
 * span is still the one it freed into.) */
static void free_local_slow_locked(hz3_heap_t *h, hz3_span_t *s)
{
    if (_hz3_owner_of(s) != h) return;
    unsigned cls = s->cls;
    if (s->capacity == 1) {
        _hz3_single_keep(h, s);
        return;
    }
    if (s->where == HZ3_WHERE_FULL) {
        _hz3_list_remove(&h->full[cls], s);
        set_state(s, HZ3_TF_NOTIFY, HZ3_TF_NORMAL);   /* NOTIFYING: delayed resets it */
        _hz3_where_set(s, HZ3_WHERE_AVAIL);
        _hz3_list_push_front(&h->avail[cls], s);
    }
    if (_hz3_used_get(s) != 0 || s == h->cur[cls]) return;
    if (keep_empty(h, cls, s)) {
        h->empty_kept[cls]++;
        h->kept_pages += s->pages;
        _hz3_list_remove(&h->avail[cls], s);
        _hz3_where_set(s, HZ3_WHERE_KEPT);
        _hz3_list_push_back(&h->avail[cls], s);
    } else {
        _hz3_list_remove(&h->avail[cls], s);
        _hz3_pool_give(s);
    }
}

static HZ3_NOINLINE void free_local_slow_shared(hz3_heap_t *h, hz3_span_t *s)
{
    _hz3_heap_lock(h);
    free_local_slow_locked(h, s);
    _hz3_heap_unlock(h);
}
/* A full span whose free blocks are still fewer than its class's rejoin
 * (size_class.c says why and what it measured) stays on full, its blocks
 * waiting on local_free; a remote free into it still notifies (the drain
 * puts it on avail). The fast path's decrement comes here only when the
 * span is empty or its rejoin is due (used is biased while it is full,
 * hz3_internal.h), so the test below returns without the lock only for
 * the generic free (alloc.c, which comes at every free into a full span),
 * and for a span a purge gave back meanwhile (emptied by remote frees: no
 * other thread changes the fields read here while the span holds a live
 * object, and one given back needs nothing). The test comes first, with
 * no register saved (a single is empty here, used 0, and goes on to
 * single.c with none saved either). */
void _hz3_free_local_slow(hz3_heap_t *h, hz3_span_t *s)
{
    unsigned used = _hz3_used_get(s);
    if (used != 0 && s->capacity - used < _hz3_span_rejoin(s)) return;
    if (s->capacity == 1) _hz3_single_free_local(h, s);
    else free_local_slow_shared(h, s);
}

/* A free from a thread that does not own the span, after the generic
 * free's checks: singles to the freeing thread's cache (single.c), other
 * blocks into the calling thread's remote batch (remote.c). */
void _hz3_free_remote(hz3_span_t *s, hz3_block_t *b)
{
    if (s->capacity == 1) {
        _hz3_single_free_remote(s, b);
        return;
    }
    _hz3_remote_batch_add(_hz3_tl_heap, s, b);
}

/* Pushes a chain of n blocks (head..tail, keyed) onto the span's
 * thread_free with one CAS, and tells the owner if the span was full. */
void _hz3_span_push_remote(hz3_span_t *s, hz3_block_t *head, hz3_block_t *tail, unsigned n)
{
    uintptr_t old = atomic_load_explicit(&s->thread_free, memory_order_relaxed), next;
    unsigned state;
    do {
        state = hz3_tf_state(old);
        tail->next = hz3_tf_ptr(old);
        next = hz3_tf_make(head, hz3_tf_count(old) + n, state == HZ3_TF_NOTIFY ? HZ3_TF_NOTIFYING : state);
    } while (!atomic_compare_exchange_weak_explicit(&s->thread_free, &old, next, memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (state != HZ3_TF_NOTIFY) return;
    /* We turned NOTIFY into NOTIFYING: the owner cannot go away until it has
     * drained this span from its delayed list. */
    hz3_heap_t *h = (hz3_heap_t *)((uintptr_t)atomic_load_explicit(&s->owner, memory_order_acquire) &
                                   ~HZ3_OWNER_SAMPLED);
    hz3_span_t *first = atomic_load_explicit(&h->delayed, memory_order_relaxed);
    do {
        *_hz3_delayed_link(s) = first;
    } while (!atomic_compare_exchange_weak_explicit(&h->delayed, &first, s, memory_order_release,
                                                    memory_order_relaxed));
}

/* Follows a free list from head for at most max blocks, and only while each
 * link is a block of the span: a list another thread changes under us can
 * make the answer wrong, never the walk unsafe. */
static bool list_has(const hz3_span_t *s, const hz3_block_t *head, unsigned max, const hz3_block_t *b)
{
    uintptr_t start = (uintptr_t)_hz3_span_start(s);
    for (unsigned i = 0; head && i < max; i++) {
        if (head == b) return true;
        if ((uintptr_t)head < start || !_hz3_is_block_start(s, (uintptr_t)head - start)) return false;
        head = __atomic_load_n(&head->next, __ATOMIC_RELAXED);
    }
    return false;
}

bool _hz3_span_has_free(hz3_span_t *s, const hz3_block_t *b)
{
    if (list_has(s, __atomic_load_n(&s->free, __ATOMIC_RELAXED), s->capacity, b)) return true;
    if (list_has(s, __atomic_load_n(&s->local_free, __ATOMIC_RELAXED), s->capacity, b)) return true;
    uintptr_t tf = atomic_load_explicit(&s->thread_free, memory_order_acquire);
    if (list_has(s, hz3_tf_ptr(tf), s->capacity, b)) return true;
    /* freed by some thread that has not pushed it yet */
    return _hz3_heaps_remote_has(s, b);
}
