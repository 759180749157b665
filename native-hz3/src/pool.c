/*
 * pool.c: spans taken from the page pool and given back to it, under the
 * pool lock (see pool.h for the invariants, pool_index.c for how a free run
 * is found).
 */
#include <errno.h>
#include "pool.h"

/* Makes the head entry s (its pages, tags' place and header already set)
 * an empty span of cls for owner, its blocks not yet carved. Under the
 * pool lock: the census reads span entries under it. */
static void span_start(hz3_span_t *s, unsigned idx, unsigned pages, unsigned cls, hz3_heap_t *owner)
{
    const hz3_class_t *c = &_hz3_classes[cls];
    s->free = NULL;
    /* where first: one given back from a full list still says so, and
     * leaving full takes the bias off used (hz3_internal.h) */
    _hz3_where_set(s, HZ3_WHERE_NONE);
    __atomic_store_n(&s->used, 0, __ATOMIC_RELAXED);
    s->capacity = cls == HZ3_CLASS_RUN ? c->capacity : (uint16_t)(pages * HZ3_PAGE_SIZE / c->size);   /* shorter spans: heap.c */
    s->extended = 0;
    s->cls = (uint8_t)cls;
    s->next = s->prev = NULL;
    s->local_free = NULL;
    atomic_store_explicit(&s->thread_free, 0, memory_order_relaxed);
    /* a lazily carved class's pages refuse every free until carved (span.c, extend) */
    unsigned tag_cls = cls != HZ3_CLASS_RUN && _hz3_class_lazy(c) ? HZ3_CLASS_REFUSE : cls;
    _hz3_tags_store(s, pages, _hz3_tag_make(idx, tag_cls, _hz3_tag_owner(owner)));
    atomic_store_explicit(&s->owner, owner, memory_order_release);
}

hz3_span_t *_hz3_pool_take(unsigned cls, hz3_heap_t *owner)
{
    return _hz3_pool_take_pages(cls, _hz3_classes[cls].pages, owner);
}

hz3_span_t *_hz3_pool_take_pages(unsigned cls, unsigned pages, hz3_heap_t *owner)
{
    /* Runs and class spans keep to segments of their own kind: small spans
     * scattered among big runs would leave no room for the next big run. A
     * wholly free segment serves either kind. */
    bool runs = cls == HZ3_CLASS_RUN;
    unsigned kind = runs ? HZ3_BINS_RUN : HZ3_BINS_CLASS;
    pthread_mutex_lock(&_hz3_pool_mutex);
    hz3_span_t *node;
    hz3_segment_t *seg;
    unsigned idx = 0, len = 0;
    for (;;) {
        node = _hz3_index_find(kind, pages);
        /* A run that is not a node: the segment's nodes are relinked below. */
        seg = node ? NULL : _hz3_index_find_mixed(kind, pages, &idx);
        if (node || seg || !_hz3_pool.out_of_index) break;
        /* A purge holds segments out of the index for a few madvise calls:
         * their pages may fit (a new segment would stay beside them). */
        _hz3_pool.purge_waiters++;
        pthread_cond_wait(&_hz3_pool_purged, &_hz3_pool_mutex);
        _hz3_pool.purge_waiters--;
    }
    if (!node && !seg) {
        hz3_segment_t *fresh = _hz3_segment_claim();
        pthread_mutex_unlock(&_hz3_pool_mutex);
        if (!fresh) {
            errno = ENOMEM;
            return NULL;
        }
        _hz3_segment_prepare(fresh);
        pthread_mutex_lock(&_hz3_pool_mutex);
        _hz3_segment_open(fresh);
        /* Pages given back meanwhile may fit better: search again. */
        node = _hz3_index_find(kind, pages);
    }
    bool mixed = !node;
    if (node) {
        seg = _hz3_segment_of(node);
        idx = (unsigned)(node - seg->spans);
        len = node->pages;
    }
    bool whole = seg->bin_kind == HZ3_BINS_WHOLE;
    if (whole || mixed) {
        /* The segment takes the kind: its runs move to that kind's bins. */
        _hz3_index_unlink_all(seg);
        if (whole) _hz3_pool.nfree_whole--;
    } else {
        _hz3_index_unlink(seg, idx);
    }
    seg->runs = runs;
    seg->bin_kind = (uint8_t)kind;
    seg->dirty_free_pages = (uint16_t)(seg->dirty_free_pages - _hz3_map_count(seg->dirtymap, idx, pages));
    _hz3_map_set(seg->freemap, idx, pages, false);
    _hz3_map_set(seg->dirtymap, idx, pages, false);
    seg->free_pages = (uint16_t)(seg->free_pages - pages);
    seg->in_avail = seg->free_pages > 0;
    _hz3_pool.free_pages -= pages;
    _hz3_pool.span_pages += pages;
    _hz3_pool.demand.total += pages;
    if (whole || mixed) _hz3_index_link_all(seg);
    else if (len > pages) _hz3_index_link(seg, idx + pages, len - pages, _hz3_map_bit(seg->dirtymap, idx + pages));

    /* The span is complete before the lock is released: the census reads
     * span entries under this lock. */
    hz3_span_t *s = &seg->spans[idx];
    _hz3_header_mark(seg, idx, pages);
    _hz3_pool_changed(pages);
    /* page_flags are left alone: HZ3_PAGE_DIRTY matters for free pages
     * only, and _hz3_pool_give sets it. */
    for (unsigned i = 1; i < pages; i++) {
        s[i].kind = HZ3_SPAN_CONT;
        s[i].head_off = (uint16_t)i;
    }
    s->kind = HZ3_SPAN_HEAD;
    s->head_off = 0;
    s->pages = (uint16_t)pages;
    span_start(s, idx, pages, cls, owner);
    pthread_mutex_unlock(&_hz3_pool_mutex);
    return s;
}

void _hz3_pool_reclass(hz3_span_t *s, unsigned cls, hz3_heap_t *owner)
{
    hz3_segment_t *seg = _hz3_segment_of(s);
    pthread_mutex_lock(&_hz3_pool_mutex);
    span_start(s, (unsigned)(s - seg->spans), s->pages, cls, owner);
    pthread_mutex_unlock(&_hz3_pool_mutex);
}

void _hz3_pool_give(hz3_span_t *s)
{
    hz3_segment_t *seg = _hz3_segment_of(s);
    unsigned idx = (unsigned)(s - seg->spans), pages = s->pages;
    uint64_t now = _hz3_now_ms();
    pthread_mutex_lock(&_hz3_pool_mutex);
    bool whole = seg->free_pages + pages == HZ3_SEG_USABLE_PAGES;
    /* A segment a purge holds out of the index takes the pages into its
     * maps alone: the purge links its runs when it is done. */
    bool indexed = seg->bin_kind != HZ3_BINS_NONE;
    /* The dirty runs next to it merge with it; a segment that becomes
     * wholly free moves all its runs to the bins of either kind. */
    unsigned start = idx, end = idx + pages;
    if (whole && indexed) {
        _hz3_index_unlink_all(seg);
    } else if (indexed) {
        if (idx > HZ3_SEG_META_PAGES && _hz3_map_bit(seg->dirtymap, idx - 1)) {
            start = _hz3_map_run_start(seg->dirtymap, idx - 1);
            _hz3_index_unlink(seg, start);
        }
        if (end < HZ3_SEG_PAGES && _hz3_map_bit(seg->dirtymap, end)) {
            _hz3_index_unlink(seg, end);
            end += seg->spans[end].pages;
        }
    }
    _hz3_header_mark(seg, idx, pages);
    _hz3_pool_changed(pages);
    for (unsigned i = 0; i < pages; i++) {
        s[i].kind = HZ3_SPAN_NONE;
        s[i].head_off = 0;
        s[i].freed_ms = now;
        s[i].page_flags |= HZ3_PAGE_DIRTY;
    }
    __atomic_store_n(&s->used, 0, __ATOMIC_RELAXED);
    /* where is left as it was (the census reads it for span heads only, and
     * _hz3_pool_take sets it): the last owner's fast path may still be
     * reading it after the free that emptied the span, when a purge on
     * another thread gives the span back. */
    atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
    _hz3_tags_store(s, pages, 0);
    atomic_store_explicit(&s->thread_free, 0, memory_order_relaxed);
    _hz3_map_set(seg->freemap, idx, pages, true);
    _hz3_map_set(seg->dirtymap, idx, pages, true);
    seg->dirty_free_pages = (uint16_t)(seg->dirty_free_pages + pages);
    seg->free_pages = (uint16_t)(seg->free_pages + pages);
    seg->in_avail = true;
    _hz3_pool.free_pages += pages;
    _hz3_pool.span_pages -= pages;
    if (whole) {
        seg->whole_free_since_ms = now;
        _hz3_pool.nfree_whole++;
    }
    if (whole && indexed) {
        seg->bin_kind = HZ3_BINS_WHOLE;
        _hz3_index_link_all(seg);
    } else if (indexed) {
        _hz3_index_link(seg, start, end - start, true);
    }
    pthread_mutex_unlock(&_hz3_pool_mutex);
}
