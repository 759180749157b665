/*
 * segment.c: segments of the page pool. Reservations of address space are
 * cut into 1 MiB segments; this file keeps the segment map and slots that
 * free's fast path reads, makes and releases segments, purges their free
 * pages and walks them for the census. Spans are taken and given back in
 * pool.c; the free pages are found through pool_index.c. One lock guards
 * all of it (pool.h, with the invariants).
 *
 * A wholly free segment beyond HZ3_FREE_SEGS_KEEP is decommitted and its
 * slot in the reservation is reused later (the address space is kept).
 * How many free pages a purge keeps resident: see purge.c.
 */
#include "pool.h"

uint64_t _hz3_segmap[HZ3_SEGMAP_BITS / 64];
uintptr_t _hz3_seg_ends[HZ3_SEG_SLOTS];

pthread_mutex_t _hz3_pool_mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t _hz3_pool_purged = PTHREAD_COND_INITIALIZER;
hz3_pool_t _hz3_pool;

uint64_t _hz3_pool_changes(void) { return atomic_load_explicit(&_hz3_pool.changes, memory_order_relaxed); }

void _hz3_pool_lock(void) { pthread_mutex_lock(&_hz3_pool_mutex); }
void _hz3_pool_unlock(void) { pthread_mutex_unlock(&_hz3_pool_mutex); }
void _hz3_pool_after_fork_child(void)
{
    /* No purge is between its unlock and relock: its epoch holds the
     * epoch lock, which fork_prepare takes first (init.c). */
    pthread_mutex_init(&_hz3_pool_mutex, NULL);
    pthread_cond_init(&_hz3_pool_purged, NULL);
    _hz3_pool.purge_waiters = 0;
    /* The child's one thread was forking, not between a claim and an open:
     * a slot claimed by a thread the child does not have is free again. */
    for (hz3_reservation_t *r = _hz3_pool.reservations; r; r = r->next) r->claimed = 0;
}

/* An empty slot's value (hz3_internal.h, "The segment slots"). */
static uintptr_t slot_empty(unsigned k) { return k == HZ3_SEG_SLOTS - 1 ? HZ3_SEG_SIZE : 0; }

void _hz3_seg_slots_init(void)
{
    unsigned k = HZ3_SEG_SLOTS - 1;
    uintptr_t none = 0;
    __atomic_compare_exchange_n(&_hz3_seg_ends[k], &none, slot_empty(k), false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* The segment map and the slots, under the pool lock (after the segment
 * joined the segment list, or left it). A slot freed goes to another active
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
    for (hz3_segment_t *o = _hz3_pool.segments; o; o = o->next) {
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
        r->used = r->claimed = 0;
        r->next = _hz3_pool.reservations;
        _hz3_pool.reservations = r;
        _hz3_pool.nreservations++;
        _hz3_pool.reserved_bytes += bytes;
        return r;
    }
    return NULL;
}

static hz3_reservation_t *reservation_of(const hz3_segment_t *seg)
{
    hz3_reservation_t *r = _hz3_pool.reservations;
    while ((uintptr_t)seg < r->base || (uintptr_t)seg >= r->base + ((uintptr_t)r->nsegs << HZ3_SEG_SHIFT)) r = r->next;
    return r;
}

static uint64_t slot_bit(const hz3_reservation_t *r, const hz3_segment_t *seg)
{
    return (uint64_t)1 << (((uintptr_t)seg - r->base) >> HZ3_SEG_SHIFT);
}

hz3_segment_t *_hz3_segment_claim(void)
{
    hz3_reservation_t *r = _hz3_pool.reservations;
    while (r && (r->used | r->claimed) == (r->nsegs == 64 ? ~(uint64_t)0 : (((uint64_t)1 << r->nsegs) - 1))) r = r->next;
    if (!r && !(r = reserve())) return NULL;
    unsigned slot = (unsigned)__builtin_ctzll(~(r->used | r->claimed));
    r->claimed |= (uint64_t)1 << slot;
    return (hz3_segment_t *)(r->base + ((uintptr_t)slot << HZ3_SEG_SHIFT));
}

void _hz3_segment_prepare(hz3_segment_t *seg)
{
    /* The header of a fresh or decommitted slot reads as zero: storing a
     * zero changes nothing but maps the page. */
    for (unsigned p = 0; p < HZ3_SEG_META_PAGES; p++)
        *(volatile uint8_t *)((uint8_t *)seg + ((size_t)p << HZ3_PAGE_SHIFT)) = 0;
}

void _hz3_segment_open(hz3_segment_t *seg)
{
    hz3_reservation_t *r = reservation_of(seg);
    r->claimed &= ~slot_bit(r, seg);
    r->used |= slot_bit(r, seg);
    seg->header_written = (uint8_t)((1u << HZ3_SEG_META_PAGES) - 1);   /* all mapped by _hz3_segment_prepare */
    seg->free_pages = HZ3_SEG_USABLE_PAGES;
    for (unsigned i = 0; i < HZ3_SEG_PAGES / 64; i++) seg->freemap[i] = ~(uint64_t)0;
    seg->freemap[0] &= ~(((uint64_t)1 << HZ3_SEG_META_PAGES) - 1);
    seg->prev = NULL;
    seg->next = _hz3_pool.segments;
    if (_hz3_pool.segments) _hz3_pool.segments->prev = seg;
    _hz3_pool.segments = seg;
    _hz3_pool.nsegments++;
    _hz3_pool.free_pages += HZ3_SEG_USABLE_PAGES;
    _hz3_pool.nfree_whole++;
    seg->in_avail = true;
    seg->bin_kind = HZ3_BINS_WHOLE;
    _hz3_index_link(seg, HZ3_SEG_META_PAGES, HZ3_SEG_USABLE_PAGES, false);
    segmap_set((uintptr_t)seg, true);
}

/* Releases a wholly free segment; its decommit joins the list, which the
 * caller makes with the lock dropped: until then the slot stays claimed,
 * so that no segment is opened there before it reads as zero. */
static void segment_free(hz3_segment_t *seg, hz3_decommit_list_t *list)
{
    _hz3_index_unlink_all(seg);
    seg->in_avail = false;
    if (seg->prev) seg->prev->next = seg->next; else _hz3_pool.segments = seg->next;
    if (seg->next) seg->next->prev = seg->prev;
    _hz3_pool.nsegments--;
    _hz3_pool.free_pages -= HZ3_SEG_USABLE_PAGES;
    _hz3_pool.freed_segments++;
    _hz3_pool_changed(seg->dirty_free_pages);   /* its span pages were counted as they went back */
    segmap_set((uintptr_t)seg, false);
    hz3_reservation_t *r = reservation_of(seg);
    r->used &= ~slot_bit(r, seg);
    r->claimed |= slot_bit(r, seg);
    /* Header and pages read as zero when the slot is used again: flags
     * start over, as for a new mapping. */
    _hz3_decommit_add(list, seg, HZ3_SEG_SIZE);
}

/* Decommits the free pages of a segment that may be resident and went
 * free at or before `cutoff`. A free page that is not resident between two
 * of them joins their range (madvise costs nothing there): a range ends at
 * a page in use or a resident page kept. Returns pages decommitted. */
static uint64_t segment_decommit_free(hz3_segment_t *seg, uint64_t cutoff, hz3_decommit_list_t *list)
{
    uint64_t purged = 0;
    unsigned first = 0, end = 0;   /* the pending range [first, end); end 0: none */
    for (unsigned i = HZ3_SEG_META_PAGES; i <= HZ3_SEG_PAGES; i++) {
        bool free = i < HZ3_SEG_PAGES && _hz3_map_bit(seg->freemap, i);
        bool dirty = free && _hz3_map_bit(seg->dirtymap, i);
        if (dirty && seg->spans[i].freed_ms <= cutoff) {
            seg->spans[i].page_flags = HZ3_PAGE_PURGED;
            seg->dirtymap[i >> 6] &= ~((uint64_t)1 << (i & 63));
            purged++;
            if (!end) first = i;
            end = i + 1;
        } else if ((!free || dirty) && end) {
            _hz3_decommit_add(list, (uint8_t *)seg + ((size_t)first << HZ3_PAGE_SHIFT),
                              (size_t)(end - first) << HZ3_PAGE_SHIFT);
            end = 0;
        }
    }
    seg->dirty_free_pages = (uint16_t)(seg->dirty_free_pages - purged);
    return purged;
}

/* When the free pages a purge decommits went free: at or before *partial
 * in segments in use, at or before *whole in wholly free segments (false:
 * none of these). With delay 0, every free page and segment.
 *
 * A free page of a segment in use that stayed free for the delay goes:
 * takes reuse the dirty pages given back last and the runs that fit best,
 * so one that others were taken before for a whole delay is seldom taken
 * again (the JVM churn workload took back about one in ten of the pages
 * purged so while it ran, bench/RESULTS.md, 2026-12-03 (evening)). Wholly
 * free segments are what a process's swings in pages in use leave, and the
 * next swing takes them again: beyond the delay, as many of their youngest
 * pages as the pool handed out within the delay stay (the working set, see
 * purge.c). */
static bool purge_cutoffs(uint64_t now_ms, uint64_t delay_ms, uint64_t *partial, uint64_t *whole)
{
    if (delay_ms == 0) {
        *partial = *whole = UINT64_MAX;
        return true;
    }
    *partial = *whole = now_ms >= delay_ms ? now_ms - delay_ms : 0;
    uint64_t keep = _hz3_demand_recent(&_hz3_pool.demand, now_ms, delay_ms);
    if (keep == 0) return true;
    hz3_ages_t ages;
    _hz3_ages_init(&ages, now_ms, delay_ms);
    uint64_t dirty = 0;
    for (hz3_segment_t *seg = _hz3_pool.segments; seg; seg = seg->next) {
        if (seg->free_pages != HZ3_SEG_USABLE_PAGES || !seg->dirty_free_pages) continue;
        dirty += seg->dirty_free_pages;
        for (unsigned w = 0; w < HZ3_SEG_PAGES / 64; w++)
            for (uint64_t m = seg->dirtymap[w]; m; m &= m - 1)
                _hz3_ages_add(&ages, seg->spans[w * 64 + (unsigned)__builtin_ctzll(m)].freed_ms, 1);
    }
    if (dirty <= keep) return false;
    *whole = _hz3_ages_cutoff(&ages, dirty - keep);
    return true;
}

/* Whether a dirty free page of the segment went free at or before cutoff. */
static bool has_dirty_before(const hz3_segment_t *seg, uint64_t cutoff)
{
    for (unsigned w = 0; w < HZ3_SEG_PAGES / 64; w++)
        for (uint64_t m = seg->dirtymap[w]; m; m &= m - 1)
            if (seg->spans[w * 64 + (unsigned)__builtin_ctzll(m)].freed_ms <= cutoff) return true;
    return false;
}

/* A purge's decommits are made with the pool lock dropped: a madvise costs
 * microseconds (tens of them on a loaded machine, more when its pages are
 * shared with another core's TLB), and every take and give of a span waits
 * on the lock (purging the free pages of segments in use made 542 madvise
 * calls a run of the JVM churn workload, and its 10 s runs did 9-25% fewer
 * rounds with them under the lock: bench/RESULTS.md, 2026-12-03 (evening)).
 * Under the lock a purge marks the pages clean (the census tells resident
 * pages from decommitted ones by mincore, so it is exact before, during and
 * after the calls), takes the segments out of the index (bin_kind NONE: no
 * take finds their pages, a give into them links nothing) and releases
 * wholly free segments with their slots claimed; then it drops the lock,
 * makes the calls, and takes the lock again to link the segments' runs and
 * free the slots. Purges are one at a time (purge_mutex): segments leave
 * the list only here, so a purge's walk resumes where it dropped the lock. */
static pthread_mutex_t purge_mutex = PTHREAD_MUTEX_INITIALIZER;

#define PURGE_SEGS 64
static struct {
    hz3_decommit_list_t list;
    hz3_segment_t *seg[PURGE_SEGS];
    bool released[PURGE_SEGS];
    unsigned nsegs;
} pending;   /* under purge_mutex */

/* Room in pending for one more segment's decommits: at most a range every other page. */
static bool pending_room(void)
{
    return pending.nsegs < PURGE_SEGS && _hz3_decommit_room(&pending.list) > HZ3_SEG_PAGES / 2;
}

static void pending_add(hz3_segment_t *seg, bool released)
{
    pending.seg[pending.nsegs] = seg;
    pending.released[pending.nsegs++] = released;
    if (!released) {
        seg->bin_kind = HZ3_BINS_NONE;
        _hz3_pool.out_of_index++;
    }
}

/* Called and returns with the pool lock held; drops it for the calls. */
static void pending_flush(struct hz3_epoch_info *info)
{
    if (!pending.nsegs) return;
    pthread_mutex_unlock(&_hz3_pool_mutex);
    info->madvise_calls += _hz3_decommit_flush(&pending.list);
    pthread_mutex_lock(&_hz3_pool_mutex);
    for (unsigned i = 0; i < pending.nsegs; i++) {
        hz3_segment_t *seg = pending.seg[i];
        if (pending.released[i]) {
            hz3_reservation_t *r = reservation_of(seg);
            r->claimed &= ~slot_bit(r, seg);
            continue;
        }
        seg->bin_kind = (uint8_t)_hz3_segment_bin_kind(seg);
        _hz3_index_link_all(seg);
        _hz3_pool.out_of_index--;
    }
    pending.nsegs = 0;
    if (_hz3_pool.purge_waiters) pthread_cond_broadcast(&_hz3_pool_purged);
}

/* Gives back what stayed free for delay_ms (see purge_cutoffs): free pages
 * are decommitted, wholly free segments beyond HZ3_FREE_SEGS_KEEP are
 * released (with delay_ms == 0: all of them, and every free page). A page
 * freed a moment ago in a busy segment is left alone: it would fault
 * straight back in. */
void _hz3_pool_purge(uint64_t now_ms, uint64_t delay_ms, struct hz3_epoch_info *info)
{
    /* delay 0: everything free now, also what a purge gave back after
     * now_ms was read (the clock is coarse). */
    uint64_t partial, whole;
    pthread_mutex_lock(&purge_mutex);
    pthread_mutex_lock(&_hz3_pool_mutex);
    bool wholes = purge_cutoffs(now_ms, delay_ms, &partial, &whole);
    for (hz3_segment_t *seg = _hz3_pool.segments, *next; seg; seg = next) {
        next = seg->next;
        if (!pending_room()) pending_flush(info);
        bool is_whole = seg->free_pages == HZ3_SEG_USABLE_PAGES;
        if (is_whole && !wholes) continue;
        if (is_whole && seg->whole_free_since_ms <= whole &&
            (delay_ms == 0 || _hz3_pool.nfree_whole > HZ3_FREE_SEGS_KEEP)) {
            info->pages_purged += seg->dirty_free_pages;
            info->segments_unmapped++;
            _hz3_pool.nfree_whole--;
            segment_free(seg, &pending.list);
            pending_add(seg, true);
        } else if (seg->dirty_free_pages && has_dirty_before(seg, is_whole ? whole : partial)) {
            /* Pages turn from dirty to clean: the runs are relinked after. */
            _hz3_index_unlink_all(seg);
            info->pages_purged += segment_decommit_free(seg, is_whole ? whole : partial, &pending.list);
            pending_add(seg, false);
        }
    }
    pending_flush(info);
    pthread_mutex_unlock(&_hz3_pool_mutex);
    pthread_mutex_unlock(&purge_mutex);
}

/* Releases every wholly free segment but HZ3_FREE_SEGS_KEEP, however
 * recently it became free: at a thread's end (epoch.c), when its spans come
 * back all at once. A program whose threads come and go otherwise holds
 * what the ended ones emptied while the next ones run, and, as they touch
 * other pages than their predecessors did, its peak grows with every
 * generation of threads (bench/RESULTS.md, 2026-12-03 (afternoon)). */
void _hz3_pool_release_whole(struct hz3_epoch_info *info)
{
    pthread_mutex_lock(&purge_mutex);
    pthread_mutex_lock(&_hz3_pool_mutex);
    for (hz3_segment_t *seg = _hz3_pool.segments, *next; seg; seg = next) {
        next = seg->next;
        if (!pending_room()) pending_flush(info);
        if (_hz3_pool.nfree_whole <= HZ3_FREE_SEGS_KEEP) break;
        if (seg->free_pages != HZ3_SEG_USABLE_PAGES) continue;
        info->pages_purged += seg->dirty_free_pages;
        info->segments_unmapped++;
        _hz3_pool.nfree_whole--;
        segment_free(seg, &pending.list);
        pending_add(seg, true);
    }
    pending_flush(info);
    pthread_mutex_unlock(&_hz3_pool_mutex);
    pthread_mutex_unlock(&purge_mutex);
}

/* ---- census iteration: the census reads a segment under the pool lock,
 * so spans are neither made nor given back while it looks. ---- */
bool _hz3_pool_census_step(hz3_census_cursor_t *cur, uint64_t budget, void (*visit)(hz3_segment_t *, void *),
                           void *arg)
{
    pthread_mutex_lock(&_hz3_pool_mutex);
    if (!cur->started) {
        cur->res = _hz3_pool.reservations;
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
    pthread_mutex_unlock(&_hz3_pool_mutex);
    return done;
}

void _hz3_pool_stats(struct hz3_stats *st)
{
    pthread_mutex_lock(&_hz3_pool_mutex);
    st->reservations = _hz3_pool.nreservations;
    st->reserved_bytes = _hz3_pool.reserved_bytes;
    st->segments_active = _hz3_pool.nsegments;
    st->segments_free = _hz3_pool.freed_segments;
    st->segment_bytes = _hz3_pool.nsegments * HZ3_SEG_SIZE;
    st->span_pages = _hz3_pool.span_pages;
    st->free_pages = _hz3_pool.free_pages;
    pthread_mutex_unlock(&_hz3_pool_mutex);
}

size_t _hz3_pool_mappings(uint64_t *out, size_t max_pairs)
{
    size_t n = 0;
    pthread_mutex_lock(&_hz3_pool_mutex);
    for (hz3_reservation_t *r = _hz3_pool.reservations; r; r = r->next, n++) {
        if (n < max_pairs) {
            out[2 * n] = r->base;
            out[2 * n + 1] = r->base + ((uint64_t)r->nsegs << HZ3_SEG_SHIFT);
        }
    }
    pthread_mutex_unlock(&_hz3_pool_mutex);
    return n;
}

bool _hz3_pool_owns(uintptr_t p)
{
    bool found = false;
    pthread_mutex_lock(&_hz3_pool_mutex);
    for (hz3_reservation_t *r = _hz3_pool.reservations; r && !found; r = r->next)
        found = p >= r->base && p < r->base + ((uintptr_t)r->nsegs << HZ3_SEG_SHIFT);
    pthread_mutex_unlock(&_hz3_pool_mutex);
    return found;
}
