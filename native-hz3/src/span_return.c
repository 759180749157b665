/*
 * span_return.c: spans going back. The abandoned lists (the spans of ended
 * threads that still hold objects, and empty singles a heap's cache had no
 * room for), which other heaps adopt and epochs reclaim; the empty spans a
 * heap keeps, given back by timer epochs (decay) and purges (from any
 * thread); and everything a heap holds when its thread ends.
 */
#include "hz3_hot.h"
#include "span_state.h"

static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static hz3_span_list_t abandoned[HZ3_MAX_CLASSES];
static _Atomic uint32_t abandoned_count[HZ3_MAX_CLASSES];  /* read without the lock */

void _hz3_abandoned_lock(void) { pthread_mutex_lock(&abandoned_lock); }
void _hz3_abandoned_unlock(void) { pthread_mutex_unlock(&abandoned_lock); }
void _hz3_abandoned_after_fork_child(void) { pthread_mutex_init(&abandoned_lock, NULL); }

/* The first span on class cls's abandoned list, off it and on no list;
 * NULL when there is none. */
static hz3_span_t *abandoned_pop(unsigned cls)
{
    if (!atomic_load_explicit(&abandoned_count[cls], memory_order_relaxed)) return NULL;
    pthread_mutex_lock(&abandoned_lock);
    hz3_span_t *s = abandoned[cls].first;
    if (s) {
        _hz3_list_remove(&abandoned[cls], s);
        atomic_fetch_sub_explicit(&abandoned_count[cls], 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&abandoned_lock);
    if (s) _hz3_where_set(s, HZ3_WHERE_NONE);
    return s;
}

/* The first span of class cls that a thread left (or an empty single that
 * a heap's cache had no room for), now h's, on no list; NULL when none. */
hz3_span_t *_hz3_abandoned_adopt(hz3_heap_t *h, unsigned cls)
{
    hz3_span_t *s = abandoned_pop(cls);
    if (!s) return NULL;
    /* an abandoned span's owner is NULL, keeping the sample tag */
    __atomic_fetch_or((uintptr_t *)&s->owner, (uintptr_t)h, __ATOMIC_RELEASE);
    _hz3_tags_or(s, h->tag_owner);
    set_state(s, HZ3_TF_NEVER, HZ3_TF_NORMAL);
    return s;
}

static void release_span(hz3_span_t *s)
{
    if (_hz3_used_get(s) == 0) {
        _hz3_pool_give(s);
        return;
    }
    _hz3_where_set(s, HZ3_WHERE_ABANDONED);
    __atomic_fetch_and((uintptr_t *)&s->owner, HZ3_OWNER_SAMPLED, __ATOMIC_RELEASE);   /* NULL, tag kept */
    _hz3_tags_and(s, ~(HZ3_TAG_OWNER_MASK & ~HZ3_TAG_SAMPLED));
    pthread_mutex_lock(&abandoned_lock);
    _hz3_list_push_back(&abandoned[s->cls], s);
    atomic_fetch_add_explicit(&abandoned_count[s->cls], 1, memory_order_relaxed);
    pthread_mutex_unlock(&abandoned_lock);
}

/* A single that its heap's cache has no room for (single.c): onto the
 * abandoned list of its class, first, where the next heap that misses the
 * class takes it (adopt) without the page pool, and where every epoch
 * gives it back (_hz3_abandoned_reclaim: empty, it is a purge candidate).
 * At most HZ3_SINGLE_DEPOT_PAGES pages per class; false when full. An
 * empty single gets no remote free, so its thread_free stays NORMAL. */
bool _hz3_single_abandon(hz3_span_t *s)
{
    unsigned cls = s->cls;
    pthread_mutex_lock(&abandoned_lock);
    if ((atomic_load_explicit(&abandoned_count[cls], memory_order_relaxed) + 1) * s->pages > HZ3_SINGLE_DEPOT_PAGES) {
        pthread_mutex_unlock(&abandoned_lock);
        return false;
    }
    _hz3_where_set(s, HZ3_WHERE_ABANDONED);
    __atomic_fetch_and((uintptr_t *)&s->owner, HZ3_OWNER_SAMPLED, __ATOMIC_RELEASE);   /* NULL, tag kept */
    uint32_t *tag = _hz3_tags_of(s);
    _hz3_tags_store(s, s->pages, __atomic_load_n(&tag[0], __ATOMIC_RELAXED) & ~(HZ3_TAG_OWNER_MASK & ~HZ3_TAG_SAMPLED));
    _hz3_list_push_front(&abandoned[cls], s);
    atomic_fetch_add_explicit(&abandoned_count[cls], 1, memory_order_relaxed);
    pthread_mutex_unlock(&abandoned_lock);
    return true;
}

/* The most recent single of class cls put there by _hz3_single_abandon,
 * now h's (h->lock held), on no list; NULL when there is none. */
hz3_span_t *_hz3_single_unabandon(hz3_heap_t *h, unsigned cls)
{
    hz3_span_t *s = abandoned_pop(cls);
    if (!s) return NULL;
    uintptr_t sampled = (uintptr_t)atomic_load_explicit(&s->owner, memory_order_relaxed) & HZ3_OWNER_SAMPLED;
    atomic_store_explicit(&s->owner, (hz3_heap_t *)((uintptr_t)h | sampled), memory_order_release);
    uint32_t *tag = _hz3_tags_of(s);
    _hz3_tags_store(s, s->pages, __atomic_load_n(&tag[0], __ATOMIC_RELAXED) | h->tag_owner);
    return s;
}

/* Turns a span to NEVER; NOTIFYING first has to come through delayed. */
static void set_never(hz3_heap_t *h, hz3_span_t *s)
{
    uintptr_t old = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
    for (;;) {
        if (hz3_tf_state(old) == HZ3_TF_NOTIFYING) {
            hz3_span_t *d = atomic_exchange_explicit(&h->delayed, NULL, memory_order_acquire);
            for (; d; d = *_hz3_delayed_link(d)) set_state(d, HZ3_TF_NOTIFYING, HZ3_TF_NORMAL);
            cpu_relax();
            old = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&s->thread_free, &old, (old & ~HZ3_TF_STATE_MASK) | HZ3_TF_NEVER,
                                                  memory_order_acq_rel, memory_order_relaxed))
            return;
    }
}

static void release_list(hz3_heap_t *h, hz3_span_list_t *l)
{
    hz3_span_t *s;
    while ((s = l->first) != NULL) {
        _hz3_list_remove(l, s);
        set_never(h, s);
        collect(s);
        release_span(s);
    }
}

/* Gives back abandoned spans whose last objects were freed by other
 * threads since. Their used count is stable (no owner), and a span with no
 * live object cannot receive another free. */
uint64_t _hz3_abandoned_reclaim(void)
{
    uint64_t n = 0;
    for (unsigned cls = 0; cls < _hz3_num_classes; cls++) {
        if (!atomic_load_explicit(&abandoned_count[cls], memory_order_relaxed)) continue;
        pthread_mutex_lock(&abandoned_lock);
        hz3_span_t *s = abandoned[cls].first;
        while (s) {
            hz3_span_t *next = s->next;
            uintptr_t tf = atomic_load_explicit(&s->thread_free, memory_order_acquire);
            if (_hz3_used_get(s) == hz3_tf_count(tf)) {
                _hz3_list_remove(&abandoned[cls], s);
                atomic_fetch_sub_explicit(&abandoned_count[cls], 1, memory_order_relaxed);
                _hz3_pool_give(s);
                n++;
            }
            s = next;
        }
        pthread_mutex_unlock(&abandoned_lock);
    }
    return n;
}

/* Gives back the empty spans a heap keeps (not the current ones): asked
 * for by timer epochs, so memory of idle classes goes home. The owner, on
 * its slow path, with h->lock held. */
void _hz3_heap_decay(hz3_heap_t *h)
{
    /* blocks cached for idle classes go home too (bcache.c; singles under
     * the lock held here), and are given back below if empty */
    _hz3_bcache_flush_all_locked(h);
    _hz3_remote_batch_flush(h);
    for (unsigned cls = 0; cls < _hz3_num_classes; cls++) {
        hz3_span_t *s = h->avail[cls].first;
        while (s) {
            hz3_span_t *next = s->next;
            if (_hz3_used_get(s) == 0) {
                _hz3_list_remove(&h->avail[cls], s);
                _hz3_pool_give(s);
            }
            s = next;
        }
        h->empty_kept[cls] = 0;
    }
    h->single_cache_pages = 0;
    h->kept_pages = 0;
}

/* Whether a purge from any thread gives the span back (hz3_types.h):
 * empty and on one of its owner's lists (kept, avail, or full and queued
 * on the owner's delayed list), or abandoned. The current spans (where
 * NONE) stay. */
bool _hz3_span_purgeable(const hz3_span_t *s, unsigned live)
{
    return live == 0 && _hz3_where_get(s) != HZ3_WHERE_NONE;
}

/* Off the heap's lists and back to the pool; h->lock held. */
static void purge_span(hz3_heap_t *h, hz3_span_t *s)
{
    unsigned cls = s->cls;
    if (s->where == HZ3_WHERE_FULL) {
        _hz3_list_remove(&h->full[cls], s);
    } else {
        _hz3_list_remove(&h->avail[cls], s);
        if (s->where == HZ3_WHERE_KEPT) {
            if (s->capacity == 1) {
                h->single_cache_pages -= s->pages;
            } else if (h->empty_kept[cls]) {
                h->empty_kept[cls]--;
                h->kept_pages -= s->pages;
            }
        }
    }
    _hz3_pool_give(s);
}

static bool empty_now(const hz3_span_t *s, uintptr_t *tf)
{
    unsigned used = _hz3_used_acquire(s);
    *tf = atomic_load_explicit(&s->thread_free, memory_order_acquire);
    return used == hz3_tf_count(*tf);
}

/* A purge from any thread, with h->lock held: gives back the spans on the
 * heap's lists that hold no live object. None is current, so the owner's
 * fast path does not touch them (it frees only into spans with live
 * objects); the owner's last writes to them happened before its release
 * store of used, or under h->lock, and a remote free that emptied one
 * finished with its CAS, or (NOTIFYING) with its push onto h->delayed,
 * which this takes over: the empty ones there go back, the others are
 * queued again for the owner. */
uint64_t _hz3_heap_give_empty(hz3_heap_t *h)
{
    uint64_t n = 0;
    uintptr_t tf;
    hz3_span_t *d = atomic_exchange_explicit(&h->delayed, NULL, memory_order_acquire);
    while (d) {
        hz3_span_t *next = *_hz3_delayed_link(d);
        if (d->where != HZ3_WHERE_NONE && empty_now(d, &tf)) {
            *_hz3_delayed_link(d) = NULL;
            purge_span(h, d);
            n++;
        } else {
            hz3_span_t *head = atomic_load_explicit(&h->delayed, memory_order_relaxed);
            do {
                *_hz3_delayed_link(d) = head;
            } while (!atomic_compare_exchange_weak_explicit(&h->delayed, &head, d, memory_order_release,
                                                            memory_order_relaxed));
        }
        d = next;
    }
    for (unsigned cls = 0; cls < _hz3_num_classes; cls++) {
        hz3_span_t *s = h->avail[cls].first;
        while (s) {
            hz3_span_t *next = s->next;
            /* NOTIFYING: a freeing thread is about to queue it on delayed */
            if (empty_now(s, &tf) && hz3_tf_state(tf) == HZ3_TF_NORMAL) {
                purge_span(h, s);
                n++;
            }
            s = next;
        }
    }
    return n;
}

void _hz3_heap_release_all(hz3_heap_t *h)
{
    _hz3_heap_lock(h);
    _hz3_heap_drain_delayed(h);
    for (unsigned cls = 0; cls < _hz3_num_classes; cls++) {
        hz3_span_t *s = h->cur[cls];
        if (s != &_hz3_span_sentinel) {
            h->cur[cls] = &_hz3_span_sentinel;
            set_never(h, s);
            collect(s);
            release_span(s);
        }
        release_list(h, &h->avail[cls]);
        release_list(h, &h->full[cls]);
        h->empty_kept[cls] = 0;
    }
    h->single_cache_pages = 0;
    h->kept_pages = 0;
    atomic_store_explicit(&h->delayed, NULL, memory_order_relaxed);
    _hz3_heap_unlock(h);
}
