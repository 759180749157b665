/*
 * heap.c: one heap per thread. A thread starts on the shared empty heap
 * (every span the sentinel, so its first malloc takes the slow path), gets
 * its own heap there, and gives it back through a pthread key destructor.
 * Heap records are recycled, so thread churn does not grow metadata, and
 * there is no table of threads: any number of them may come and go.
 * Every record ever made stays on one list (heap_all), so that a purge on
 * any thread can reach the empty spans of idle threads (see "What a
 * purge from any thread returns" in hz3_types.h).
 */
#include <sched.h>
#include <string.h>
#include "hz3_internal.h"
#include "span_state.h"

hz3_heap_t _hz3_heap_empty = {
    .tag_self = HZ3_TAG_SELF_NONE,
    .cur = { [0 ... HZ3_MAX_CLASSES - 1] = &_hz3_span_sentinel },
};
HZ3_TLS hz3_tl_t _hz3_tl = { .heap = &_hz3_heap_empty, .tag_self = HZ3_TAG_SELF_NONE };
static HZ3_TLS bool tl_heap_ended;  /* this thread's heap went back: make no other */

static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static hz3_heap_t *heap_free;
static hz3_heap_t *heap_all;        /* every record, live or recycled; never shrinks */
static uint64_t heaps_live, heaps_created, threads_exited;
static pthread_key_t heap_key;
static _Atomic bool heap_key_ready;

/* fork: heaps_lock and then every heap's lock, so that no heap lock is held
 * by a thread that will not exist in the child (a purge there takes them). */
void _hz3_heaps_lock(void)
{
    pthread_mutex_lock(&heaps_lock);
    for (hz3_heap_t *h = heap_all; h; h = h->next_all) {
        _hz3_heap_lock(h);
        _hz3_single_exclude(h);
    }
}
void _hz3_heaps_unlock(void)
{
    for (hz3_heap_t *h = heap_all; h; h = h->next_all) _hz3_heap_unlock(h);
    pthread_mutex_unlock(&heaps_lock);
}
void _hz3_heaps_after_fork_child(void)
{
    for (hz3_heap_t *h = heap_all; h; h = h->next_all) {
        atomic_store_explicit(&h->lock, 0, memory_order_relaxed);
        atomic_store_explicit(&h->single_busy, 0, memory_order_relaxed);
    }
    _hz3_single_after_fork_child();
    pthread_mutex_init(&heaps_lock, NULL);
}

HZ3_NOINLINE void _hz3_heap_lock_wait(hz3_heap_t *h)
{
    for (unsigned spins = 0;; spins++) {
        if (!atomic_load_explicit(&h->lock, memory_order_relaxed) &&
            !atomic_exchange_explicit(&h->lock, 1, memory_order_acquire))
            return;
        if (spins < 64) __builtin_ia32_pause();
        else sched_yield();
    }
}

uint64_t _hz3_heaps_give_empty(void)
{
    uint64_t n = 0;
    pthread_mutex_lock(&heaps_lock);
    for (hz3_heap_t *h = heap_all; h; h = h->next_all) {
        if (!h->live) continue;
        _hz3_heap_lock(h);
        _hz3_single_exclude(h);
        n += _hz3_heap_give_empty(h);
        _hz3_heap_unlock(h);
    }
    pthread_mutex_unlock(&heaps_lock);
    return n;
}

/* The double-free check of the generic free: a rare path (the block
 * carries the free key), so it may take heaps_lock and look everywhere. */
bool _hz3_heaps_remote_has(const hz3_span_t *s, const hz3_block_t *b)
{
    bool found = false;
    pthread_mutex_lock(&heaps_lock);
    for (hz3_heap_t *h = heap_all; h && !found; h = h->next_all)
        if (h->live) found = _hz3_remote_batch_has(h, s, b);
    pthread_mutex_unlock(&heaps_lock);
    return found;
}

/* The census: blocks in block caches are not live (bcache.c). */
void _hz3_heaps_cached(uint64_t per_class[HZ3_MAX_CLASSES])
{
    pthread_mutex_lock(&heaps_lock);
    for (hz3_heap_t *h = heap_all; h; h = h->next_all)
        if (h->live)
            for (unsigned c = 0; c < HZ3_MAX_CLASSES; c++) per_class[c] += __atomic_load_n(&h->bcache[c].count, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&heaps_lock);
}

/* Sampling was turned on: its byte count is kept on the span paths, and a
 * cache in front of them would serve a thread's mallocs uncharged for as
 * long as its frees refill it. Zeroing the limits sends the frees to the
 * spans from now on (the free fast paths test count < limit anyway), and
 * the blocks cached before go out once, to mallocs or at the next flush;
 * _hz3_bcache_arm does not arm a cache while sampling is on. */
void _hz3_heaps_bcache_disarm(void)
{
    pthread_mutex_lock(&heaps_lock);
    for (hz3_heap_t *h = heap_all; h; h = h->next_all)
        if (h->live)
            for (unsigned c = 0; c < HZ3_MAX_CLASSES; c++)
                if (_hz3_bcache_limit(&h->bcache[c])) __atomic_store_n(&h->bcache[c].limit, (uint16_t)0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&heaps_lock);
}

static void remember_medium_use(hz3_heap_t *h);

static void heap_thread_exit(void *arg)
{
    hz3_heap_t *h = arg;
    /* First the blocks this thread freed for others: some may be of spans
     * it adopted since, which release_all then collects. */
    _hz3_remote_flush(h);
    remember_medium_use(h);
    _hz3_heap_release_all(h);
    _hz3_tl_heap = &_hz3_heap_empty;
    _hz3_tl_tag_self = HZ3_TAG_SELF_NONE;
    tl_heap_ended = true;
    pthread_mutex_lock(&heaps_lock);
    __atomic_store_n(&h->live, false, __ATOMIC_RELAXED);   /* read without heaps_lock: take_home_span */
    h->next_free = heap_free;
    heap_free = h;
    heaps_live--;
    threads_exited++;
    pthread_mutex_unlock(&heaps_lock);
    /* Thread exit is a maintenance boundary (hz3 measured idle RSS -76%
     * from purging there): what this thread and ended ones left goes home. */
    _hz3_epoch_run(HZ3_EPOCH_THREAD_EXIT, NULL);
}

/* Called once from the library constructor, where calling out is safe. */
void _hz3_heap_register_key(void)
{
    if (pthread_key_create(&heap_key, heap_thread_exit) != 0) return;
    atomic_store(&heap_key_ready, true);
    if (_hz3_tl_heap != &_hz3_heap_empty) pthread_setspecific(heap_key, _hz3_tl_heap);
}

hz3_heap_t *_hz3_heap_init_thread(void)
{
    _hz3_ensure_init();
    pthread_mutex_lock(&heaps_lock);
    hz3_heap_t *h = heap_free;
    if (h) {
        heap_free = h->next_free;
    } else if ((h = _hz3_meta_alloc(sizeof *h)) != NULL) {
        heaps_created++;
        memset(h->medium_grown, HZ3_MEDIUM_GROWN_FULL, sizeof h->medium_grown);
        h->tag_owner = heaps_created <= HZ3_TAG_IDS ? (uint16_t)(heaps_created << 1) : 0;
        h->tag_self = h->tag_owner ? h->tag_owner : HZ3_TAG_SELF_NONE;
        h->next_all = heap_all;
        __atomic_store_n(&heap_all, h, __ATOMIC_RELEASE);   /* walked without heaps_lock: take_home_span */
    }
    if (h) heaps_live++;
    pthread_mutex_unlock(&heaps_lock);
    if (!h) return NULL;

    /* Not live yet: no purge looks at the record while it is set up. */
    for (unsigned i = 0; i < HZ3_MAX_CLASSES; i++) {
        h->cur[i] = &_hz3_span_sentinel;
        h->avail[i].first = h->avail[i].last = NULL;
        h->full[i].first = h->full[i].last = NULL;
        h->empty_kept[i] = 0;
    }
    h->single_cache_pages = 0;
    atomic_store_explicit(&h->delayed, NULL, memory_order_relaxed);
    h->next_free = NULL;
    h->decay_gen = atomic_load_explicit(&_hz3_decay_gen, memory_order_relaxed);
    pthread_mutex_lock(&heaps_lock);
    __atomic_store_n(&h->live, true, __ATOMIC_RELEASE);   /* the lists above, to take_home_span */
    pthread_mutex_unlock(&heaps_lock);
    /* Set before pthread_setspecific, which may itself allocate. */
    _hz3_tl_heap = h;
    _hz3_tl_tag_self = h->tag_self;
    if (atomic_load(&heap_key_ready)) pthread_setspecific(heap_key, h);
    return h;
}

/* A new span of class cls for h, from the page pool. A shared medium
 * class's spans are carved a block at a time, which saves pages only
 * while they are untouched; where threads come and go, their spans, taken
 * and given back each generation, land on pages the ended ones wrote (the
 * pool hands those out first), where all of a span's 16-32 pages count: a
 * thread that kept one or two objects of a class (4 threads x 9 classes in
 * mstress) held them all, and the next small spans took fresh pages, round
 * after round (bench/RESULTS.md, 2026-12-03 (afternoon)). So a heap record
 * remembers how many blocks its last thread's current span of the class
 * carved (heap_thread_exit), and its next thread's first span holds about
 * as many (at least 2), each next one twice as many, up to the class's
 * capacity. A record never used gives full spans; one whose last thread
 * did not use the class keeps what an earlier thread on it left. */
static hz3_span_t *take_home_span(hz3_heap_t *h, unsigned cls);

hz3_span_t *_hz3_heap_take_span(hz3_heap_t *h, unsigned cls)
{
    const hz3_class_t *c = &_hz3_classes[cls];
    hz3_span_t *home = take_home_span(h, cls);
    if (home) return home;
    unsigned blocks = 2u << h->medium_grown[cls];
    if (c->tier != HZ3_TIER_MEDIUM || c->capacity <= 2 || blocks >= c->capacity) return _hz3_pool_take(cls, h);
    h->medium_grown[cls]++;
    return _hz3_pool_take_pages(cls, (blocks * c->size + HZ3_PAGE_SIZE - 1) >> HZ3_PAGE_SHIFT, h);
}

/* A span of another heap whose every block handed out has come home
 * through remote frees its owner has not collected (used == the count on
 * its thread_free): as good as empty, but its owner takes it back only on
 * its own next slow path of the class, and a thread that stopped
 * allocating never does. Why: a server whose objects are made by one
 * thread and freed by others (larson: the 5,000 objects its main thread
 * makes before the clock, freed by the workers, whose block caches keep
 * only some) had the making thread's spans fill with blocks sent home while
 * the freeing threads carved fresh pages (bench/RESULTS.md, 2026-12-03
 * (late)).
 *
 * Such a span has no live block, so no free can reach it but a double one
 * (as an empty span kept), and no cached block (cached blocks count in
 * used, not on thread_free): its owner's fast paths, which write the
 * entries of its current spans and of spans it frees into, leave it
 * alone; an owner's free of the last live block that finished just before
 * the look has stored its used (one instruction), and its slow path, if
 * the free fired one, finds the span no longer its own (as after a purge,
 * span.c). Anything else of the owner's is under its lock, taken here with
 * a try (h->lock is held: waiting could deadlock against a purge, which
 * takes every heap's lock). Only such spans are touched: the used of a
 * span with live blocks is the owner's fast path's to write, without a
 * lock (the full list's bias, moved by _hz3_where_set, would race it: a
 * drain of the owner's delayed list from here lost its decrements,
 * test-sampling's walker). A full span the owner has not drained yet is
 * on its delayed list, taken off it in place (take_of).
 *
 * Walked without heaps_lock (also a deadlock with h->lock held): records
 * are never freed and are published with a release store; a record being
 * set up is not live, and one live under its lock stays so until unlocked
 * (_hz3_heap_release_all takes it). Bounded in heaps (16 a call) and in
 * each heap's avail spans (the first 8); its delayed list is walked whole
 * (the first 32 of a larson main thread's found too few), reading only. */
#define HZ3_HOME_HEAPS 16
#define HZ3_HOME_SPANS 8

/* s, on o's avail or full list (o->lock held), has nothing live or cached. */
static bool came_home(hz3_span_t *s, unsigned state)
{
    if (_hz3_owner_tagged(s)) return false;   /* holds a sample: the side table's */
    uintptr_t tf = atomic_load_explicit(&s->thread_free, memory_order_acquire);
    unsigned n = hz3_tf_count(tf);
    return hz3_tf_state(tf) == state && n && n == _hz3_used_acquire(s);
}

/* A span of class cls that came home, off o's lists (o->lock held). */
static hz3_span_t *take_of(hz3_heap_t *o, unsigned cls)
{
    unsigned n = 0;
    for (hz3_span_t *s = o->avail[cls].first; s && n < HZ3_HOME_SPANS; s = s->next, n++) {
        /* kept spans (empty) are the owner's to reuse or give back */
        if (s->where != HZ3_WHERE_AVAIL || !came_home(s, HZ3_TF_NORMAL)) continue;
        _hz3_list_remove(&o->avail[cls], s);
        _hz3_where_set(s, HZ3_WHERE_NONE);
        return s;
    }
    /* Full spans that remote frees reached are on the delayed list, a
     * stack whose pushers change only its head: below the head, links
     * change only under o->lock, held here, so a span is unlinked in
     * place; the head by a CAS, which a push in between makes fail. */
    hz3_span_t **link = (hz3_span_t **)&o->delayed;
    for (hz3_span_t *d = atomic_load_explicit(&o->delayed, memory_order_acquire); d;
         link = _hz3_delayed_link(d), d = *link) {
        if (d->cls != cls || d->where != HZ3_WHERE_FULL || !came_home(d, HZ3_TF_NOTIFYING)) continue;
        hz3_span_t *next = *_hz3_delayed_link(d);
        if (link == (hz3_span_t **)&o->delayed) {
            hz3_span_t *expect = d;
            if (!atomic_compare_exchange_strong_explicit(&o->delayed, &expect, next, memory_order_acq_rel,
                                                         memory_order_acquire))
                return NULL;   /* pushed over meanwhile: another time */
        } else {
            *link = next;
        }
        *_hz3_delayed_link(d) = NULL;
        _hz3_list_remove(&o->full[cls], d);
        _hz3_where_set(d, HZ3_WHERE_NONE);   /* the bias off: nothing live, no fast path writes used */
        set_state(d, HZ3_TF_NOTIFYING, HZ3_TF_NORMAL);
        return d;
    }
    return NULL;
}

static hz3_span_t *take_home_span(hz3_heap_t *h, unsigned cls)
{
    if (_hz3_classes[cls].capacity <= 1) return NULL;
    unsigned heaps = 0;
    for (hz3_heap_t *o = __atomic_load_n(&heap_all, __ATOMIC_ACQUIRE); o && heaps < HZ3_HOME_HEAPS;
         o = o->next_all) {
        if (o == h || !__atomic_load_n(&o->live, __ATOMIC_ACQUIRE)) continue;
        heaps++;
        if (atomic_load_explicit(&o->lock, memory_order_relaxed) ||
            atomic_exchange_explicit(&o->lock, 1, memory_order_acquire))
            continue;
        hz3_span_t *found = __atomic_load_n(&o->live, __ATOMIC_RELAXED) ? take_of(o, cls) : NULL;
        _hz3_heap_unlock(o);
        if (found) {
            /* the owner's tag off, h's on (the abandoned spans' way) */
            atomic_store_explicit(&found->owner, h, memory_order_release);
            _hz3_tags_and(found, ~(HZ3_TAG_OWNER_MASK & ~HZ3_TAG_SAMPLED));
            _hz3_tags_or(found, h->tag_owner);
            return found;
        }
    }
    return NULL;
}

/* What _hz3_heap_take_span sizes the record's next thread's spans by: per
 * shared medium class the thread used, the blocks its current span carved. */
static void remember_medium_use(hz3_heap_t *h)
{
    for (unsigned cls = 0; cls < _hz3_num_classes; cls++) {
        hz3_span_t *s = h->cur[cls];
        if (s == &_hz3_span_sentinel || _hz3_classes[cls].tier != HZ3_TIER_MEDIUM) continue;
        unsigned g = 0;
        while ((2u << g) < s->extended && g < HZ3_MEDIUM_GROWN_FULL) g++;
        h->medium_grown[cls] = (uint8_t)g;
    }
}

/* A thread's first free for another thread's span gives it a heap (a
 * consumer that never allocates still batches), unless the thread is
 * ending: a heap made after its destructor ran would never be given back. */
hz3_heap_t *_hz3_heap_for_remote(void)
{
    if (tl_heap_ended) return NULL;
    return _hz3_heap_init_thread();
}

void _hz3_heaps_stats(struct hz3_stats *st)
{
    pthread_mutex_lock(&heaps_lock);
    st->heaps_live = heaps_live;
    st->heaps_created = heaps_created;
    st->threads_exited = threads_exited;
    pthread_mutex_unlock(&heaps_lock);
}
