/*
 * segment.c: the page pool. Reservations of address space are cut into
 * 1 MiB segments; segments hand out runs of pages to spans. One lock guards
 * all of it; threads come here only when a span is created or given back.
 *
 * Invariants (under pool_lock)
 *   - a page of an active segment is free  <=>  its freemap bit is set
 *     <=>  its span entry has kind HZ3_SPAN_NONE and owner NULL;
 *   - seg->free_pages == popcount(seg->freemap), and seg->in_avail  <=>
 *     free_pages > 0;
 *   - the segmap bit of a segment is set  <=>  it is active.
 *
 * The index of free pages (best fit without a scan)
 *   The free pages of a segment fall into maximal runs of one dirtiness:
 *   dirty runs (maximal runs of dirtymap bits: free, maybe resident) and
 *   clean runs (free, not resident). Each run is a node: the span entry of
 *   its first page holds its length in `pages` and its links in next/prev
 *   (a free page's entry uses them for nothing else). Nodes sit in bins by
 *   exact length, one set of bins per segment kind (class spans, runs, or
 *   wholly free, which serves either) and dirtiness, with a bitmap of the
 *   bins that are not empty: a request of n pages takes the shortest run
 *   of at least n pages in one bitmap search, dirty runs of its own kind
 *   first, then dirty wholly free segments, then the same for clean runs
 *   (reusing resident pages costs no fault and no new memory). A request
 *   splits its run (the rest stays a node), a give merges with the dirty
 *   runs next to it. A segment changing kind, or a purge turning dirty
 *   pages clean, relinks that segment's nodes from its bitmaps.
 *   seg->bin_kind names the bins its nodes are in.
 * A wholly free segment beyond HZ3_FREE_SEGS_KEEP is decommitted and its
 * slot in the reservation is reused later (the address space is kept).
 * How many free pages a purge keeps resident: see purge.c.
 */
#include <errno.h>
#include "purge.h"


uint64_t _hz3_segmap[HZ3_SEGMAP_BITS / 64];
uintptr_t _hz3_seg_ends[HZ3_SEG_SLOTS];

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
enum { KIND_CLASS = 0, KIND_RUN = 1, KIND_WHOLE = 2, KINDS = 3 };   /* seg->bin_kind */
typedef struct {
    hz3_span_t *first[HZ3_SEG_PAGES];      /* by run length */
    uint64_t nonempty[HZ3_SEG_PAGES / 64];
} bins_t;

static struct {
    hz3_segment_t *segments;      /* all active segments */
    bins_t bins[KINDS][2];        /* [kind][dirty] */
    hz3_reservation_t *reservations;
    uint64_t nreservations, reserved_bytes;
    uint64_t nsegments, nfree_whole;
    uint64_t span_pages, free_pages, freed_segments;
    hz3_demand_t demand;          /* pages handed out, for the purge's working set */
    _Atomic uint64_t changes;     /* written under pool_lock; see _hz3_pool_changes */
} pool;

static void changed(unsigned pages)
{
    atomic_store_explicit(&pool.changes, pool.changes + pages, memory_order_relaxed);
}
uint64_t _hz3_pool_changes(void) { return atomic_load_explicit(&pool.changes, memory_order_relaxed); }

/* Marks the header pages holding the entries of pages [idx, idx + n) written. */
static void header_mark(hz3_segment_t *seg, unsigned idx, unsigned n)
{
    for (unsigned p = _hz3_entry_page(idx); p <= _hz3_entry_page(idx + n - 1); p++)
        seg->header_written |= (uint8_t)(1u << p);
}

void _hz3_pool_lock(void) { pthread_mutex_lock(&pool_lock); }
void _hz3_pool_unlock(void) { pthread_mutex_unlock(&pool_lock); }
void _hz3_pool_after_fork_child(void) { pthread_mutex_init(&pool_lock, NULL); }

/* An empty slot's value (hz3_internal.h, "The segment slots"). */
static uintptr_t slot_empty(unsigned k) { return k == HZ3_SEG_SLOTS - 1 ? HZ3_SEG_SIZE : 0; }

void _hz3_seg_slots_init(void)
{
    unsigned k = HZ3_SEG_SLOTS - 1;
    uintptr_t none = 0;
    __atomic_compare_exchange_n(&_hz3_seg_ends[k], &none, slot_empty(k), false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* The segment map and the slots, under the pool lock (after the segment
 * joined pool.segments, or left it). A slot freed goes to another active
 * segment of the same slot if there is one. */
static void segmap_set(uintptr_t seg, bool on)
{
    uintptr_t i = seg >> HZ3_SEG_SHIFT;
    uint64_t bit = (uint64_t)1 << (i & 63);
    if (on) __atomic_fetch_or(&_hz3_segmap[i >> 6], bit, __ATOMIC_RELEASE);
    else __atomic_fetch_and(&_hz3_segmap[i >> 6], ~bit, __ATOMIC_RELEASE);

    unsigned k = _hz3_seg_slot(seg);
    uintptr_t *slot = &_hz3_seg_ends[k], cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if (on) {
        if (cur == 0 || cur == slot_empty(k)) __atomic_store_n(slot, seg + HZ3_SEG_SIZE, __ATOMIC_RELEASE);
        return;
    }
    if (cur != seg + HZ3_SEG_SIZE) return;
    uintptr_t next = slot_empty(k);
    for (hz3_segment_t *o = pool.segments; o; o = o->next) {
        if (_hz3_seg_slot((uintptr_t)o) == k) {
            next = (uintptr_t)o + HZ3_SEG_SIZE;
            break;
        }
    }
    __atomic_store_n(slot, next, __ATOMIC_RELEASE);
}

static hz3_reservation_t *reserve(void)
{
    /* Ask for HZ3_RESERVE_BYTES; when the kernel refuses (RLIMIT_AS, no
     * address space), ask for less, down to a single segment. */
    for (size_t bytes = HZ3_RESERVE_BYTES; bytes >= HZ3_SEG_SIZE; bytes /= 2) {
        void *base = _hz3_os_map_aligned(bytes, HZ3_SEG_SIZE);
        if (!base) continue;
        hz3_reservation_t *r = _hz3_meta_alloc(sizeof *r);
        if (!r) {
            _hz3_os_unmap(base, bytes);
            return NULL;
        }
        r->base = (uintptr_t)base;
        r->nsegs = (uint32_t)(bytes >> HZ3_SEG_SHIFT);
        r->used = 0;
        r->next = pool.reservations;
        pool.reservations = r;
        pool.nreservations++;
        pool.reserved_bytes += bytes;
        return r;
    }
    return NULL;
}

static bool map_bit(const uint64_t *map, unsigned i) { return (map[i >> 6] >> (i & 63)) & 1; }

/* The first index at or after i whose bit in map equals `set`; HZ3_SEG_PAGES if none. */
static unsigned next_bit(const uint64_t *map, unsigned i, bool set)
{
    while (i < HZ3_SEG_PAGES) {
        uint64_t w = set ? map[i >> 6] : ~map[i >> 6];
        w &= ~(uint64_t)0 << (i & 63);
        if (w) return (i & ~63u) + (unsigned)__builtin_ctzll(w);
        i = (i & ~63u) + 64;
    }
    return HZ3_SEG_PAGES;
}

/* The first index of the run of set bits that ends at i (bit i set). */
static unsigned run_start(const uint64_t *map, unsigned i)
{
    for (;;) {
        uint64_t clear = ~map[i >> 6] & (~(uint64_t)0 >> (63 - (i & 63)));   /* clear bits at or below i */
        if (clear) return (i & ~63u) + 64 - (unsigned)__builtin_clzll(clear);
        if (i < 64) return 0;
        i = (i & ~63u) - 1;
    }
}

static void bin_link(hz3_segment_t *seg, unsigned idx, unsigned len, bool dirty)
{
    bins_t *b = &pool.bins[seg->bin_kind][dirty];
    hz3_span_t *e = &seg->spans[idx];
    header_mark(seg, idx, 1);
    e->pages = (uint16_t)len;
    e->prev = NULL;
    e->next = b->first[len];
    if (e->next) e->next->prev = e;
    b->first[len] = e;
    b->nonempty[len >> 6] |= (uint64_t)1 << (len & 63);
}

/* Unlinks the node of the free run starting at idx; its dirtiness is read
 * from the dirty map, which has not changed since it was linked. */
static void bin_unlink(hz3_segment_t *seg, unsigned idx)
{
    hz3_span_t *e = &seg->spans[idx];
    unsigned len = e->pages;
    bins_t *b = &pool.bins[seg->bin_kind][map_bit(seg->dirtymap, idx)];
    if (e->prev) e->prev->next = e->next; else b->first[len] = e->next;
    if (e->next) e->next->prev = e->prev;
    e->next = e->prev = NULL;
    if (!b->first[len]) b->nonempty[len >> 6] &= ~((uint64_t)1 << (len & 63));
}

/* Calls fn for every maximal free run of one dirtiness in the segment. */
static void each_free_run(hz3_segment_t *seg, void (*fn)(hz3_segment_t *, unsigned idx, unsigned len, bool dirty))
{
    uint64_t clean[HZ3_SEG_PAGES / 64];
    for (unsigned w = 0; w < HZ3_SEG_PAGES / 64; w++) clean[w] = seg->freemap[w] & ~seg->dirtymap[w];
    for (int dirty = 0; dirty <= 1; dirty++) {
        const uint64_t *map = dirty ? seg->dirtymap : clean;
        for (unsigned i = next_bit(map, 0, true); i < HZ3_SEG_PAGES;) {
            unsigned end = next_bit(map, i, false);
            fn(seg, i, end - i, dirty);
            i = next_bit(map, end, true);
        }
    }
}

static void unlink_run(hz3_segment_t *seg, unsigned idx, unsigned len, bool dirty) { bin_unlink(seg, idx); }
static void link_run(hz3_segment_t *seg, unsigned idx, unsigned len, bool dirty) { bin_link(seg, idx, len, dirty); }
static void seg_unlink_all(hz3_segment_t *seg) { each_free_run(seg, unlink_run); }
static void seg_link_all(hz3_segment_t *seg) { each_free_run(seg, link_run); }

/* The shortest free run of at least n pages in bins b, or NULL. */
static hz3_span_t *bins_find(const bins_t *b, unsigned n)
{
    unsigned len = next_bit(b->nonempty, n, true);
    return len < HZ3_SEG_PAGES ? b->first[len] : NULL;
}

static hz3_segment_t *segment_new(void)
{
    hz3_reservation_t *r = pool.reservations;
    while (r && r->used == (r->nsegs == 64 ? ~(uint64_t)0 : (((uint64_t)1 << r->nsegs) - 1))) r = r->next;
    if (!r && !(r = reserve())) return NULL;
    unsigned slot = (unsigned)__builtin_ctzll(~r->used);
    r->used |= (uint64_t)1 << slot;

    hz3_segment_t *seg = (hz3_segment_t *)(r->base + ((uintptr_t)slot << HZ3_SEG_SHIFT));
    /* The header of a fresh or decommitted slot reads as zero. */
    seg->header_written = 1;   /* page 0: these fields and the maps */
    seg->free_pages = HZ3_SEG_USABLE_PAGES;
    for (unsigned i = 0; i < HZ3_SEG_PAGES / 64; i++) seg->freemap[i] = ~(uint64_t)0;
    seg->freemap[0] &= ~(((uint64_t)1 << HZ3_SEG_META_PAGES) - 1);
    seg->prev = NULL;
    seg->next = pool.segments;
    if (pool.segments) pool.segments->prev = seg;
    pool.segments = seg;
    pool.nsegments++;
    pool.free_pages += HZ3_SEG_USABLE_PAGES;
    pool.nfree_whole++;
    seg->in_avail = true;
    seg->bin_kind = KIND_WHOLE;
    bin_link(seg, HZ3_SEG_META_PAGES, HZ3_SEG_USABLE_PAGES, false);
    segmap_set((uintptr_t)seg, true);
    return seg;
}

/* Releases a wholly free segment; its decommit joins the batch, which the
 * caller flushes before it releases the pool lock. */
static void segment_free(hz3_segment_t *seg, hz3_decommit_batch_t *batch)
{
    seg_unlink_all(seg);
    seg->in_avail = false;
    if (seg->prev) seg->prev->next = seg->next; else pool.segments = seg->next;
    if (seg->next) seg->next->prev = seg->prev;
    pool.nsegments--;
    pool.free_pages -= HZ3_SEG_USABLE_PAGES;
    pool.freed_segments++;
    changed(seg->dirty_free_pages);   /* its span pages were counted as they went back */
    segmap_set((uintptr_t)seg, false);
    for (hz3_reservation_t *r = pool.reservations; r; r = r->next) {
        if ((uintptr_t)seg >= r->base && (uintptr_t)seg < r->base + ((uintptr_t)r->nsegs << HZ3_SEG_SHIFT)) {
            r->used &= ~((uint64_t)1 << (((uintptr_t)seg - r->base) >> HZ3_SEG_SHIFT));
            break;
        }
    }
    /* Header and pages read as zero when the slot is used again: flags
     * start over, as for a new mapping. */
    _hz3_decommit_add(batch, seg, HZ3_SEG_SIZE);
}

static void map_set(uint64_t *map, unsigned idx, unsigned n, bool on)
{
    for (unsigned i = idx; i < idx + n; i++) {
        uint64_t bit = (uint64_t)1 << (i & 63);
        if (on) map[i >> 6] |= bit; else map[i >> 6] &= ~bit;
    }
}

static void freemap_set(hz3_segment_t *seg, unsigned idx, unsigned n, bool free) { map_set(seg->freemap, idx, n, free); }

hz3_span_t *_hz3_pool_take(unsigned cls, hz3_heap_t *owner)
{
    return _hz3_pool_take_pages(cls, _hz3_classes[cls].pages, owner);
}

/* The shortest fitting free run for a span of the kind: see "The index of
 * free pages" above for the order. */
static hz3_span_t *find_free_run(unsigned kind, unsigned pages)
{
    hz3_span_t *e;
    for (int dirty = 1; dirty >= 0; dirty--)
        if ((e = bins_find(&pool.bins[kind][dirty], pages)) || (e = bins_find(&pool.bins[KIND_WHOLE][dirty], pages)))
            return e;
    return NULL;
}

hz3_span_t *_hz3_pool_take_pages(unsigned cls, unsigned pages, hz3_heap_t *owner)
{
    const hz3_class_t *c = &_hz3_classes[cls];
    /* Runs and class spans keep to segments of their own kind: small spans
     * scattered among big runs would leave no room for the next big run. A
     * wholly free segment serves either kind. */
    bool runs = cls == HZ3_CLASS_RUN;
    unsigned kind = runs ? KIND_RUN : KIND_CLASS;
    pthread_mutex_lock(&pool_lock);
    hz3_span_t *node = find_free_run(kind, pages);
    if (!node) {
        if (!segment_new()) {
            pthread_mutex_unlock(&pool_lock);
            errno = ENOMEM;
            return NULL;
        }
        node = find_free_run(kind, pages);
    }
    hz3_segment_t *seg = _hz3_segment_of(node);
    unsigned idx = (unsigned)(node - seg->spans), len = node->pages;
    bool whole = seg->bin_kind == KIND_WHOLE;
    if (whole) {
        /* The segment takes the kind: its runs move to that kind's bins. */
        seg_unlink_all(seg);
        pool.nfree_whole--;
    } else {
        bin_unlink(seg, idx);
    }
    seg->runs = runs;
    seg->bin_kind = (uint8_t)kind;
    freemap_set(seg, idx, pages, false);
    map_set(seg->dirtymap, idx, pages, false);
    seg->free_pages = (uint16_t)(seg->free_pages - pages);
    seg->in_avail = seg->free_pages > 0;
    pool.free_pages -= pages;
    pool.span_pages += pages;
    pool.demand.total += pages;
    if (whole) seg_link_all(seg);
    else if (len > pages) bin_link(seg, idx + pages, len - pages, map_bit(seg->dirtymap, idx + pages));

    /* The span is complete before the lock is released: the census reads
     * span entries under this lock. */
    hz3_span_t *s = &seg->spans[idx];
    header_mark(seg, idx, pages);
    changed(pages);
    for (unsigned i = 0; i < pages; i++) {
        if (s[i].page_flags & HZ3_PAGE_DIRTY) seg->dirty_free_pages--;
        s[i].page_flags |= HZ3_PAGE_DIRTY;
        if (i) {
            s[i].kind = HZ3_SPAN_CONT;
            s[i].head_off = (uint16_t)i;
        }
    }
    s->kind = HZ3_SPAN_HEAD;
    s->head_off = 0;
    s->pages = (uint16_t)pages;
    s->free = NULL;
    __atomic_store_n(&s->used, 0, __ATOMIC_RELAXED);
    s->capacity = runs ? c->capacity : (uint16_t)(pages * HZ3_PAGE_SIZE / c->size);   /* shorter spans: heap.c */
    s->extended = 0;
    s->cls = (uint8_t)cls;
    _hz3_where_set(s, HZ3_WHERE_NONE);
    s->next = s->prev = NULL;
    s->local_free = NULL;
    atomic_store_explicit(&s->thread_free, 0, memory_order_relaxed);
    _hz3_tags_store(s, pages, _hz3_tag_make(idx, cls, _hz3_tag_owner(owner)));
    atomic_store_explicit(&s->owner, owner, memory_order_release);
    pthread_mutex_unlock(&pool_lock);
    return s;
}

void _hz3_pool_give(hz3_span_t *s)
{
    hz3_segment_t *seg = _hz3_segment_of(s);
    unsigned idx = (unsigned)(s - seg->spans), pages = s->pages;
    uint64_t now = _hz3_now_ms();
    pthread_mutex_lock(&pool_lock);
    bool whole = seg->free_pages + pages == HZ3_SEG_USABLE_PAGES;
    /* The dirty runs next to it merge with it; a segment that becomes
     * wholly free moves all its runs to the bins of either kind. */
    unsigned start = idx, end = idx + pages;
    if (whole) {
        seg_unlink_all(seg);
    } else {
        if (idx > HZ3_SEG_META_PAGES && map_bit(seg->dirtymap, idx - 1)) {
            start = run_start(seg->dirtymap, idx - 1);
            bin_unlink(seg, start);
        }
        if (end < HZ3_SEG_PAGES && map_bit(seg->dirtymap, end)) {
            bin_unlink(seg, end);
            end += seg->spans[end].pages;
        }
    }
    header_mark(seg, idx, pages);
    changed(pages);
    for (unsigned i = 0; i < pages; i++) {
        s[i].kind = HZ3_SPAN_NONE;
        s[i].head_off = 0;
        s[i].freed_ms = now;
    }
    __atomic_store_n(&s->used, 0, __ATOMIC_RELAXED);
    /* where is left as it was (the census reads it for span heads only, and
     * _hz3_pool_take sets it): the last owner's fast path may still be
     * reading it after the free that emptied the span, when a purge on
     * another thread gives the span back. */
    atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
    _hz3_tags_store(s, pages, 0);
    atomic_store_explicit(&s->thread_free, 0, memory_order_relaxed);
    freemap_set(seg, idx, pages, true);
    map_set(seg->dirtymap, idx, pages, true);
    seg->dirty_free_pages = (uint16_t)(seg->dirty_free_pages + pages);
    seg->free_pages = (uint16_t)(seg->free_pages + pages);
    seg->in_avail = true;
    pool.free_pages += pages;
    pool.span_pages -= pages;
    if (whole) {
        seg->whole_free_since_ms = now;
        pool.nfree_whole++;
        seg->bin_kind = KIND_WHOLE;
        seg_link_all(seg);
    } else {
        bin_link(seg, start, end - start, true);
    }
    pthread_mutex_unlock(&pool_lock);
}

/* Decommits the free pages of a segment that may be resident and went
 * free at or before `cutoff`. A free page that is not resident between two
 * of them joins their range (madvise costs nothing there): a range ends at
 * a page in use or a resident page kept. Returns pages decommitted. */
static uint64_t segment_decommit_free(hz3_segment_t *seg, uint64_t cutoff, hz3_decommit_batch_t *batch)
{
    uint64_t purged = 0;
    unsigned first = 0, end = 0;   /* the pending range [first, end); end 0: none */
    for (unsigned i = HZ3_SEG_META_PAGES; i <= HZ3_SEG_PAGES; i++) {
        bool free = i < HZ3_SEG_PAGES && map_bit(seg->freemap, i);
        bool dirty = free && map_bit(seg->dirtymap, i);
        if (dirty && seg->spans[i].freed_ms <= cutoff) {
            seg->spans[i].page_flags = HZ3_PAGE_PURGED;
            seg->dirtymap[i >> 6] &= ~((uint64_t)1 << (i & 63));
            purged++;
            if (!end) first = i;
            end = i + 1;
        } else if ((!free || dirty) && end) {
            _hz3_decommit_add(batch, (uint8_t *)seg + ((size_t)first << HZ3_PAGE_SHIFT),
                              (size_t)(end - first) << HZ3_PAGE_SHIFT);
            end = 0;
        }
    }
    seg->dirty_free_pages = (uint16_t)(seg->dirty_free_pages - purged);
    return purged;
}

/* Which free pages a purge decommits: those that went free at or before
 * *cutoff; false when it keeps them all. With delay 0, every free page.
 * Otherwise those that stayed free for the delay, less as many of the
 * youngest resident free pages as the pool handed out within the delay
 * (its working set, see purge.c). */
static bool purge_cutoff(uint64_t now_ms, uint64_t delay_ms, uint64_t *cutoff)
{
    if (delay_ms == 0) {
        *cutoff = UINT64_MAX;
        return true;
    }
    *cutoff = now_ms >= delay_ms ? now_ms - delay_ms : 0;
    uint64_t keep = _hz3_demand_recent(&pool.demand, now_ms, delay_ms);
    if (keep == 0) return true;
    hz3_ages_t ages;
    _hz3_ages_init(&ages, now_ms, delay_ms);
    uint64_t dirty = 0;
    for (hz3_segment_t *seg = pool.segments; seg; seg = seg->next) {
        if (!seg->dirty_free_pages) continue;
        dirty += seg->dirty_free_pages;
        for (unsigned w = 0; w < HZ3_SEG_PAGES / 64; w++)
            for (uint64_t m = seg->dirtymap[w]; m; m &= m - 1)
                _hz3_ages_add(&ages, seg->spans[w * 64 + (unsigned)__builtin_ctzll(m)].freed_ms, 1);
    }
    if (dirty <= keep) return false;
    *cutoff = _hz3_ages_cutoff(&ages, dirty - keep);
    return true;
}

/* Gives back what stayed free for delay_ms beyond the working set (see
 * purge_cutoff): free pages are decommitted, wholly free segments beyond
 * HZ3_FREE_SEGS_KEEP are released (with delay_ms == 0: all of them, and
 * every free page). A page freed a moment ago in a busy segment is left
 * alone: it would fault straight back in. */
void _hz3_pool_purge(uint64_t now_ms, uint64_t delay_ms, struct hz3_epoch_info *info)
{
    /* delay 0: everything free now, also what a purge gave back after
     * now_ms was read (the clock is coarse). */
    uint64_t cutoff;
    hz3_decommit_batch_t batch = { 0, 0, 0 };
    pthread_mutex_lock(&pool_lock);
    if (!purge_cutoff(now_ms, delay_ms, &cutoff)) {
        pthread_mutex_unlock(&pool_lock);
        return;
    }
    hz3_segment_t *seg = pool.segments;
    while (seg) {
        hz3_segment_t *next = seg->next;
        if (seg->free_pages == HZ3_SEG_USABLE_PAGES && seg->whole_free_since_ms <= cutoff &&
            (delay_ms == 0 || pool.nfree_whole > HZ3_FREE_SEGS_KEEP)) {
            info->pages_purged += seg->dirty_free_pages;
            info->segments_unmapped++;
            pool.nfree_whole--;
            segment_free(seg, &batch);
        } else if (seg->dirty_free_pages) {
            /* Pages turn from dirty to clean: the runs are relinked. */
            seg_unlink_all(seg);
            info->pages_purged += segment_decommit_free(seg, cutoff, &batch);
            seg_link_all(seg);
        }
        seg = next;
    }
    /* Released slots must read as zero before segment_new can reuse them. */
    _hz3_decommit_flush(&batch);
    info->madvise_calls += batch.calls;
    pthread_mutex_unlock(&pool_lock);
}

/* Releases every wholly free segment but HZ3_FREE_SEGS_KEEP, however
 * recently it became free: at a thread's end (epoch.c), when its spans come
 * back all at once. A program whose threads come and go otherwise holds
 * what the ended ones emptied while the next ones run, and, as they touch
 * other pages than their predecessors did, its peak grows with every
 * generation of threads (bench/RESULTS.md, 2026-12-03 (afternoon)). */
void _hz3_pool_release_whole(struct hz3_epoch_info *info)
{
    hz3_decommit_batch_t batch = { 0, 0, 0 };
    pthread_mutex_lock(&pool_lock);
    for (hz3_segment_t *seg = pool.segments, *next; seg && pool.nfree_whole > HZ3_FREE_SEGS_KEEP; seg = next) {
        next = seg->next;
        if (seg->free_pages != HZ3_SEG_USABLE_PAGES) continue;
        info->pages_purged += seg->dirty_free_pages;
        info->segments_unmapped++;
        pool.nfree_whole--;
        segment_free(seg, &batch);
    }
    _hz3_decommit_flush(&batch);
    info->madvise_calls += batch.calls;
    pthread_mutex_unlock(&pool_lock);
}

/* ---- census iteration: the census reads a segment under the pool lock,
 * so spans are neither made nor given back while it looks. ---- */
bool _hz3_pool_census_step(hz3_census_cursor_t *cur, uint64_t budget, void (*visit)(hz3_segment_t *, void *),
                           void *arg)
{
    pthread_mutex_lock(&pool_lock);
    if (!cur->started) {
        cur->res = pool.reservations;
        cur->slot = 0;
        cur->started = true;
        cur->changes_at_start = _hz3_pool_changes();
    }
    while (cur->res && budget) {
        hz3_reservation_t *r = cur->res;
        if (cur->slot >= r->nsegs) {
            cur->res = r->next;
            cur->slot = 0;
            continue;
        }
        unsigned slot = cur->slot++;
        if (!(r->used & ((uint64_t)1 << slot))) continue;
        visit((hz3_segment_t *)(r->base + ((uintptr_t)slot << HZ3_SEG_SHIFT)), arg);
        budget--;
    }
    bool done = cur->res == NULL;
    pthread_mutex_unlock(&pool_lock);
    return done;
}

void _hz3_pool_stats(struct hz3_stats *st)
{
    pthread_mutex_lock(&pool_lock);
    st->reservations = pool.nreservations;
    st->reserved_bytes = pool.reserved_bytes;
    st->segments_active = pool.nsegments;
    st->segments_free = pool.freed_segments;
    st->segment_bytes = pool.nsegments * HZ3_SEG_SIZE;
    st->span_pages = pool.span_pages;
    st->free_pages = pool.free_pages;
    pthread_mutex_unlock(&pool_lock);
}

size_t _hz3_pool_mappings(uint64_t *out, size_t max_pairs)
{
    size_t n = 0;
    pthread_mutex_lock(&pool_lock);
    for (hz3_reservation_t *r = pool.reservations; r; r = r->next, n++) {
        if (n < max_pairs) {
            out[2 * n] = r->base;
            out[2 * n + 1] = r->base + ((uint64_t)r->nsegs << HZ3_SEG_SHIFT);
        }
    }
    pthread_mutex_unlock(&pool_lock);
    return n;
}

bool _hz3_pool_owns(uintptr_t p)
{
    bool found = false;
    pthread_mutex_lock(&pool_lock);
    for (hz3_reservation_t *r = pool.reservations; r && !found; r = r->next)
        found = p >= r->base && p < r->base + ((uintptr_t)r->nsegs << HZ3_SEG_SHIFT);
    pthread_mutex_unlock(&pool_lock);
    return found;
}

/* ---- for the invariant walker ---- */
typedef struct { unsigned bad; } index_check_t;
static index_check_t index_check;

static void check_run(hz3_segment_t *seg, unsigned idx, unsigned len, bool dirty)
{
    const hz3_span_t *e = &seg->spans[idx];
    const bins_t *b = &pool.bins[seg->bin_kind][dirty];
    bool linked = e->pages == len && ((b->nonempty[len >> 6] >> (len & 63)) & 1) &&
                  (e->prev ? e->prev->next == e : b->first[len] == e);
    if (!linked) index_check.bad++;
}

/* Free runs of the segment whose node is missing from the index (its
 * length, bin or links wrong); the caller holds the pool lock. */
unsigned _hz3_pool_index_errors(hz3_segment_t *seg)
{
    index_check.bad = 0;
    unsigned kind = seg->free_pages == HZ3_SEG_USABLE_PAGES ? KIND_WHOLE : seg->runs ? KIND_RUN : KIND_CLASS;
    if (seg->bin_kind != kind) index_check.bad++;
    each_free_run(seg, check_run);
    return index_check.bad;
}
