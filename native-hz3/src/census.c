/*
 * census.c: the S135 page census (definitions in include/hz3.h).
 *
 * A segment is read under the pool lock, so spans are neither made nor
 * given back meanwhile; residency comes from the kernel (one mincore per
 * segment), header pages count only once hz3 has written them (a read-only
 * header page is the kernel's zero page: not in Rss), and no span entry on
 * an unwritten header page is read. A span's pages are purge candidates
 * when a purge from any thread would return them (_hz3_span_purgeable);
 * other empty spans are held by their threads. A span's live count is used - |thread_free|, read under the
 * span's seqlock so that a collection of remote frees in flight is never
 * counted twice. Nothing here touches the malloc/free fast path.
 */
#include <string.h>
#include "hz3_internal.h"
#include "sample.h"

static unsigned occ_bucket(uint64_t live, uint64_t cap)
{
    if (live == 0) return HZ3_OCC_0;
    if (live * 4 <= cap) return HZ3_OCC_1_25;
    if (live * 2 <= cap) return HZ3_OCC_25_50;
    if (live * 4 <= cap * 3) return HZ3_OCC_50_75;
    return HZ3_OCC_75_100;
}

void _hz3_span_counts(hz3_span_t *s, unsigned *used, unsigned *remote)
{
    for (unsigned spins = 0;; spins++) {
        uint16_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (!(s1 & 1)) {
            /* acquire loads keep the second read of seq after them */
            unsigned u = _hz3_used_acquire(s);
            uintptr_t tf = atomic_load_explicit(&s->thread_free, memory_order_acquire);
            if (atomic_load_explicit(&s->seq, memory_order_relaxed) == s1) {
                *used = u;
                *remote = hz3_tf_count(tf);
                return;
            }
        }
        if (spins > 64) sched_yield();
        else __builtin_ia32_pause();
    }
}

/* Whether single s, counted 1 in used, is free in a thread's block cache
 * (bcache.c, single.c): its object then carries the free key, which every
 * path that hands an object out clears. Its first page is resident (the
 * caller's mincore says so), so the read maps nothing. The owner may be
 * handing the object out or the program writing it meanwhile: either
 * answer is the object's state at one moment (and a program that stores
 * the random key there itself is not expected). ThreadSanitizer is told
 * so: it would call the read of a live object a race. */
__attribute__((no_sanitize_thread)) static bool single_cached(hz3_span_t *s)
{
    const hz3_block_t *b = (const hz3_block_t *)_hz3_span_start(s);
    return HZ3_FREE_CHECKS && *(const volatile uintptr_t *)&b->key == _hz3_free_key;
}

unsigned _hz3_span_live(hz3_span_t *s)
{
    unsigned used, remote;
    _hz3_span_counts(s, &used, &remote);
    return used > remote ? used - remote : 0;
}

static void count_page(struct hz3_snapshot *snap, struct hz3_tier_census *t, struct hz3_class_census *c,
                       unsigned state, bool resident, unsigned bucket, bool purgeable)
{
    t->pages[state]++;
    if (c) c->pages[state]++;
    if (!resident) return;
    t->occ[bucket]++;
    if (c) c->occ[bucket]++;
    if (state != HZ3_PS_EMPTY) return;
    if (purgeable) {
        t->cand_decommit_pages++;
        if (c) c->cand_decommit_pages++;
    } else {
        snap->held_empty_pages++;
    }
}

void _hz3_census_begin(struct hz3_snapshot *snap, uint64_t seq, bool exact)
{
    memset(snap, 0, sizeof *snap);
    snap->size = sizeof *snap;
    snap->version = HZ3_SNAPSHOT_VERSION;
    snap->seq_first = seq;
    snap->exact = exact;
}

void _hz3_census_visit(hz3_segment_t *seg, void *arg)
{
    struct hz3_snapshot *snap = arg;
    unsigned char vec[HZ3_SEG_PAGES];
    if (!_hz3_os_resident(seg, HZ3_SEG_PAGES, vec)) memset(vec, 1, sizeof vec);
    snap->segments_scanned++;
    /* Header pages: resident ones hz3 wrote; a resident page it never wrote
     * is either the kernel's zero page (mapped by a read: not in Rss) or
     * part of a transparent huge page (in Rss): pagemap tells them apart. */
    uint64_t header_pages = 0;
    bool unwritten_resident = false, private_page[HZ3_SEG_META_PAGES];
    for (unsigned i = 0; i < HZ3_SEG_META_PAGES; i++) {
        bool written = seg->header_written >> i & 1;
        if ((vec[i] & 1) && written) header_pages++;
        unwritten_resident |= (vec[i] & 1) && !written;
    }
    if (unwritten_resident) {
        bool known = _hz3_os_page_private(seg, HZ3_SEG_META_PAGES, private_page);
        for (unsigned i = 0; i < HZ3_SEG_META_PAGES; i++)
            if ((vec[i] & 1) && !(seg->header_written >> i & 1) && (!known || private_page[i])) header_pages++;
    }
    snap->header_resident_bytes += header_pages * HZ3_PAGE_SIZE;

    bool seg_live = false, seg_stays = false;
    struct hz3_tier_census *free_tier = &snap->tier[HZ3_TIER_FREE];
    for (unsigned i = HZ3_SEG_META_PAGES; i < HZ3_SEG_PAGES;) {
        hz3_span_t *e = &seg->spans[i];
        bool resident = vec[i] & 1;
        if (seg->freemap[i >> 6] & ((uint64_t)1 << (i & 63))) {
            /* an entry never written reads as zero: do not map its page */
            unsigned flags = _hz3_entry_written(seg, i) ? e->page_flags : 0;
            unsigned state = resident ? HZ3_PS_EMPTY : (flags & HZ3_PAGE_PURGED) ? HZ3_PS_DECOMMITTED
                                                                                 : HZ3_PS_UNTOUCHED;
            count_page(snap, free_tier, NULL, state, resident, HZ3_OCC_0, true);
            i++;
            continue;
        }
        if (e->kind != HZ3_SPAN_HEAD) {   /* hz3_debug_validate reports this */
            i++;
            continue;
        }
        /* Runs (one object of its own page count) count in the large tier,
         * with no class and no tail waste. */
        const hz3_class_t *cl = &_hz3_classes[e->cls];
        bool run = e->cls == HZ3_CLASS_RUN;
        struct hz3_tier_census *t = &snap->tier[cl->tier];
        struct hz3_class_census *c = run ? NULL : &snap->classes[e->cls];
        unsigned live = _hz3_span_live(e), cap = e->capacity, pages = e->pages;
        /* a single in a block cache: empty, and held (where NONE: no purge
         * takes it) until its thread's flush (include/hz3.h) */
        if (cap == 1 && !run && live == 1 && resident && single_cached(e)) live = 0;
        uint64_t size = run ? (uint64_t)pages * HZ3_PAGE_SIZE : cl->size;
        uint64_t waste = (uint64_t)pages * HZ3_PAGE_SIZE - (uint64_t)cap * size;
        t->spans++;
        t->live_objects += live;
        t->capacity_objects += cap;
        t->live_bytes += (uint64_t)live * size;
        t->tail_waste_bytes += waste;
        if (c) {
            c->spans++;
            c->live_objects += live;
            c->capacity_objects += cap;
            c->tail_waste_bytes += waste;
        }
        seg_live |= live != 0;
        bool purgeable = _hz3_span_purgeable(e, live);
        seg_stays |= !purgeable;
        unsigned occupied = live == 0 ? HZ3_PS_EMPTY : live >= cap ? HZ3_PS_FULL : HZ3_PS_PARTIAL;
        unsigned bucket = occ_bucket(live, cap);
        for (unsigned k = 0; k < pages && i + k < HZ3_SEG_PAGES; k++) {
            bool r = vec[i + k] & 1;
            unsigned state = r ? occupied
                               : (seg->spans[i + k].page_flags & HZ3_PAGE_PURGED) ? HZ3_PS_DECOMMITTED
                                                                                  : HZ3_PS_UNTOUCHED;
            count_page(snap, t, c, state, r, bucket, purgeable);
        }
        i += pages;
    }
    if (!seg_live) snap->cand_unmap_segs++;
    /* A purge releases a segment whole when every span in it goes back. */
    if (!seg_stays) snap->cand_header_pages += header_pages;
}

/* Class indexes with the largest key first; UINT32_MAX where none is left. */
static void top_n(const struct hz3_snapshot *snap, uint32_t *out, uint64_t (*key)(const struct hz3_class_census *))
{
    bool taken[HZ3_CENSUS_CLASSES] = { false };
    for (unsigned r = 0; r < HZ3_TOP_N; r++) {
        uint32_t best = UINT32_MAX;
        uint64_t best_key = 0;
        for (unsigned c = 0; c < snap->num_classes; c++) {
            uint64_t k = key(&snap->classes[c]);
            if (!taken[c] && k > best_key) {
                best = c;
                best_key = k;
            }
        }
        out[r] = best;
        if (best != UINT32_MAX) taken[best] = true;
    }
}

static uint64_t partial_pages(const struct hz3_class_census *c) { return c->pages[HZ3_PS_PARTIAL]; }
static uint64_t tail_waste(const struct hz3_class_census *c) { return c->tail_waste_bytes; }

void _hz3_census_finish(struct hz3_snapshot *snap, uint64_t seq, const hz3_census_cursor_t *cur)
{
    snap->seq_last = seq;
    snap->time_ms = _hz3_wall_ms();
    snap->num_classes = _hz3_num_classes;
    for (unsigned c = 0; c < _hz3_num_classes; c++) {
        snap->classes[c].object_size = _hz3_classes[c].size;
        snap->classes[c].span_pages = _hz3_classes[c].pages;
        snap->classes[c].tier = _hz3_classes[c].tier;
    }
    /* Blocks in threads' block caches are free (bcache.c), though their
     * spans still count them in used: not live. Their pages stay in the
     * state the spans' used gives them (include/hz3.h). Singles were
     * counted span by span, by their key (above). */
    uint64_t cached[HZ3_MAX_CLASSES] = { 0 };
    _hz3_heaps_cached(cached);
    for (unsigned c = 0; c < _hz3_num_classes && c < HZ3_CENSUS_CLASSES; c++) {
        if (_hz3_classes[c].capacity == 1) continue;   /* singles: by their key, above */
        struct hz3_class_census *cc = &snap->classes[c];
        uint64_t n = cached[c] < cc->live_objects ? cached[c] : cc->live_objects;
        struct hz3_tier_census *tc = &snap->tier[_hz3_classes[c].tier];
        if (n > tc->live_objects) n = tc->live_objects;
        cc->live_objects -= n;
        tc->live_objects -= n;
        tc->live_bytes -= n * _hz3_classes[c].size;
    }
    uint64_t resident_pages = 0;
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) {
        struct hz3_tier_census *tc = &snap->tier[t];
        tc->pages_total = 0;
        for (unsigned s = 0; s < HZ3_PS_COUNT; s++) tc->pages_total += tc->pages[s];
        resident_pages += tc->pages[HZ3_PS_EMPTY] + tc->pages[HZ3_PS_FULL] + tc->pages[HZ3_PS_PARTIAL];
    }
    top_n(snap, snap->top_partial_sc, partial_pages);
    top_n(snap, snap->top_tail_waste_sc, tail_waste);

    struct hz3_stats st;
    memset(&st, 0, sizeof st);
    _hz3_pool_stats(&st);
    _hz3_large_stats(&st);
    snap->segments_total = st.segments_active;
    snap->large_count = st.large_count;
    snap->large_bytes = st.large_bytes;
    snap->large_cached = st.large_cached;
    snap->large_cached_bytes = st.large_cached_bytes;
    snap->large_resident_bytes = _hz3_large_resident();
    snap->meta_bytes = _hz3_meta_resident();
    snap->census_resident_bytes = resident_pages * HZ3_PAGE_SIZE + snap->header_resident_bytes + snap->meta_bytes +
                                  snap->large_resident_bytes;
    /* Read last: a move while the totals above were read counts too. */
    uint64_t moved = _hz3_pool_changes() - cur->changes_at_start, counted = 0;
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) counted += snap->tier[t].pages_total;
    snap->pages_moved = moved > UINT32_MAX ? UINT32_MAX : (uint32_t)moved;
    snap->consistent = moved * 100 <= counted;
}
