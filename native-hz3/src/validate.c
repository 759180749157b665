/*
 * validate.c: hz3_debug_validate, the invariant walker. It reads every
 * segment under the pool lock and checks the page pool's and the spans'
 * invariants (pool.h, hz3_types.h), then takes an exact census and
 * checks the census definitions (include/hz3.h). Every violation is one
 * line on stderr. The tests call it after their workloads, in the release
 * and the debug build; the debug build (HZ3_DEBUG) also checks the segments
 * at the end of every epoch and aborts on a violation.
 */
#include <stdio.h>
#include <string.h>
#include "hz3_internal.h"

typedef struct { uint64_t violations; } check_t;

#define VIOLATION(ck, ...)                                  \
    do {                                                    \
        char line_[256];                                    \
        snprintf(line_, sizeof line_, "hz3: invariant: " __VA_ARGS__); \
        _hz3_write_str(2, line_);                           \
        _hz3_write_str(2, "\n");                            \
        (ck)->violations++;                                 \
    } while (0)

static void check_segment(hz3_segment_t *seg, void *arg)
{
    check_t *ck = arg;
    if (!_hz3_is_segment((uintptr_t)seg)) VIOLATION(ck, "segment %p active but not in the segment map", (void *)seg);
    unsigned free_count = 0, dirty_free = 0;
    for (unsigned i = 0; i < HZ3_SEG_META_PAGES; i++)
        if (seg->freemap[i >> 6] & ((uint64_t)1 << (i & 63))) VIOLATION(ck, "segment %p header page %u marked free", (void *)seg, i);
    for (unsigned i = HZ3_SEG_META_PAGES; i < HZ3_SEG_PAGES;) {
        hz3_span_t *e = &seg->spans[i];
        if (!_hz3_entry_written(seg, i)) {
            /* Never written: reads as zero (a free, clean page). Not read,
             * so that the walker maps no header page (see hz3_types.h). */
            if (!(seg->freemap[i >> 6] & ((uint64_t)1 << (i & 63))) ||
                (seg->dirtymap[i >> 6] & ((uint64_t)1 << (i & 63))))
                VIOLATION(ck, "segment %p page %u: in use or dirty, but its entry was never written", (void *)seg, i);
            free_count++;
            i++;
            continue;
        }
        if (seg->freemap[i >> 6] & ((uint64_t)1 << (i & 63))) {
            free_count++;
            bool dirty_bit = seg->dirtymap[i >> 6] & ((uint64_t)1 << (i & 63));
            if (e->page_flags & HZ3_PAGE_DIRTY) dirty_free++;
            if (dirty_bit != !!(e->page_flags & HZ3_PAGE_DIRTY))
                VIOLATION(ck, "segment %p page %u: dirty map and page flags disagree", (void *)seg, i);
            /* unmasked: a sample tag left on a free page is a violation too */
            if (e->kind != HZ3_SPAN_NONE || atomic_load_explicit(&e->owner, memory_order_relaxed) != NULL)
                VIOLATION(ck, "segment %p page %u free but kind %u / owned", (void *)seg, i, e->kind);
            if (__atomic_load_n(&seg->tag[i], __ATOMIC_RELAXED) != 0)
                VIOLATION(ck, "segment %p page %u free but tagged %#x", (void *)seg, i,
                          __atomic_load_n(&seg->tag[i], __ATOMIC_RELAXED));
            i++;
            continue;
        }
        if (seg->dirtymap[i >> 6] & ((uint64_t)1 << (i & 63)))
            VIOLATION(ck, "segment %p page %u in use but marked free-and-dirty", (void *)seg, i);
        if (e->kind != HZ3_SPAN_HEAD) {
            VIOLATION(ck, "segment %p page %u in use but not a span head (kind %u)", (void *)seg, i, e->kind);
            i++;
            continue;
        }
        const hz3_class_t *c = &_hz3_classes[e->cls];
        bool run = e->cls == HZ3_CLASS_RUN;
        /* a heap's first spans of a shared medium class are shorter (heap.c) */
        bool shorter = c->tier == HZ3_TIER_MEDIUM && c->capacity > 2 && e->pages < c->pages;
        if ((!run && (e->cls >= _hz3_num_classes || (e->pages != c->pages && !shorter))) ||
            e->capacity != (shorter ? e->pages * HZ3_PAGE_SIZE / c->size : c->capacity))
            VIOLATION(ck, "span %p: class %u pages %u capacity %u do not match the class", (void *)e, e->cls, e->pages,
                      e->capacity);
        unsigned used, remote;
        _hz3_span_counts(e, &used, &remote);   /* the seqlock: a move on or off full changes used */
        if (used > e->capacity || remote > used || e->extended > e->capacity)
            VIOLATION(ck, "span %p: used %u remote %u extended %u capacity %u", (void *)e, used, remote, e->extended,
                      e->capacity);
        /* Head and class only: they change under the pool lock, held here;
         * owner and sample bits change with the entry's owner word, just
         * after it, so a walk during an adoption could see them differ. */
        /* A lazily carved class's pages say HZ3_CLASS_REFUSE until carved
         * ("Page tags"): its owner carves without the pool lock, storing
         * the carved count before the tags, so a page tagged with the class
         * must be carved by the count read after it (one tagged REFUSE may
         * be carved already, its tag not yet stored). */
        uint32_t want = _hz3_tag_make(i, e->cls, 0);
        bool lazy = !run && _hz3_class_lazy(c);
        for (unsigned k = 0; k < e->pages && i + k < HZ3_SEG_PAGES; k++) {
            uint32_t got = __atomic_load_n(&seg->tag[i + k], __ATOMIC_ACQUIRE) & ~HZ3_TAG_OWNER_MASK;
            if (lazy && got == _hz3_tag_make(i, HZ3_CLASS_REFUSE, 0)) continue;
            if (got != want) VIOLATION(ck, "span %p: page %u of it tagged %#x, not %#x", (void *)e, k, got, want);
            else if (lazy && k >= _hz3_pages_carved(e, __atomic_load_n(&e->extended, __ATOMIC_RELAXED)))
                VIOLATION(ck, "span %p: page %u of it tagged with its class, not carved (%u blocks)", (void *)e, k,
                          e->extended);
        }
        for (unsigned k = 1; k < e->pages && i + k < HZ3_SEG_PAGES; k++) {
            hz3_span_t *p = &seg->spans[i + k];
            if (p->kind != HZ3_SPAN_CONT || p->head_off != k)
                VIOLATION(ck, "span %p: page %u of it is kind %u head_off %u", (void *)e, k, p->kind, p->head_off);
        }
        i += e->pages ? e->pages : 1;
    }
    if (free_count != seg->free_pages)
        VIOLATION(ck, "segment %p: free_pages %u but %u pages marked free", (void *)seg, seg->free_pages, free_count);
    if (dirty_free != seg->dirty_free_pages)
        VIOLATION(ck, "segment %p: dirty_free_pages %u but %u free pages dirty", (void *)seg, seg->dirty_free_pages,
                  dirty_free);
    unsigned unindexed = _hz3_pool_index_errors(seg);
    if (unindexed) VIOLATION(ck, "segment %p: %u free runs not in the free-page index", (void *)seg, unindexed);
    if (seg->in_avail != (seg->free_pages > 0))
        VIOLATION(ck, "segment %p: on the avail list %d with %u free pages", (void *)seg, seg->in_avail, seg->free_pages);
}

static void check_census(check_t *ck, const struct hz3_snapshot *s)
{
    uint64_t empty = 0, cand = 0;
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) {
        const struct hz3_tier_census *tc = &s->tier[t];
        uint64_t sum = 0, occ = 0;
        for (unsigned k = 0; k < HZ3_PS_COUNT; k++) sum += tc->pages[k];
        for (unsigned b = 0; b < HZ3_OCC_COUNT; b++) occ += tc->occ[b];
        uint64_t in_use = tc->pages[HZ3_PS_EMPTY] + tc->pages[HZ3_PS_PARTIAL] + tc->pages[HZ3_PS_FULL];
        if (sum != tc->pages_total) VIOLATION(ck, "tier %u: states sum to %llu, pages_total %llu", t,
                                              (unsigned long long)sum, (unsigned long long)tc->pages_total);
        if (occ != in_use) VIOLATION(ck, "tier %u: buckets sum to %llu, resident pages %llu", t,
                                     (unsigned long long)occ, (unsigned long long)in_use);
        if (tc->occ[HZ3_OCC_0] != tc->pages[HZ3_PS_EMPTY] || tc->cand_decommit_pages > tc->pages[HZ3_PS_EMPTY])
            VIOLATION(ck, "tier %u: occ_0 differs from empty pages, or more candidates than empty pages", t);
        empty += tc->pages[HZ3_PS_EMPTY];
        cand += tc->cand_decommit_pages;
        if (tc->live_objects > tc->capacity_objects) VIOLATION(ck, "tier %u: more live objects than capacity", t);
    }
    if (cand + s->held_empty_pages != empty)
        VIOLATION(ck, "candidates %llu + held %llu != empty pages %llu", (unsigned long long)cand,
                  (unsigned long long)s->held_empty_pages, (unsigned long long)empty);
    uint64_t seg_pages = s->segments_scanned * HZ3_SEG_USABLE_PAGES, counted = 0;
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) counted += s->tier[t].pages_total;
    if (counted != seg_pages)
        VIOLATION(ck, "census counted %llu pages in %llu segments (%llu usable)", (unsigned long long)counted,
                  (unsigned long long)s->segments_scanned, (unsigned long long)seg_pages);
}

uint64_t _hz3_validate_segments(void)
{
    check_t ck = { 0 };
    hz3_census_cursor_t cur;
    memset(&cur, 0, sizeof cur);
    _hz3_pool_census_step(&cur, UINT64_MAX, check_segment, &ck);
    return ck.violations;
}

HZ3_EXPORT uint64_t hz3_debug_validate(void)
{
    _hz3_ensure_init();
    check_t ck = { _hz3_validate_segments() };
    static struct hz3_snapshot snap;   /* large: not on the stack */
    static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&snap_lock);
    snap.size = sizeof snap;
    hz3_obs_snapshot(&snap);
    check_census(&ck, &snap);
    pthread_mutex_unlock(&snap_lock);
    return ck.violations;
}
