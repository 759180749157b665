/*
 * segment.c: the page pool. Reservations of address space are cut into
 * 1 MiB segments; segments hand out runs of pages to spans. One lock guards
 * all of it; threads come here only when a span is created or given back.
 *
 * Invariants (under pool_lock)
 *   - a page of an active segment is free  <=>  its freemap bit is set
 *     <=>  its span entry has kind HZ3_SPAN_NONE and owner NULL;
 *   - seg->free_pages == popcount(seg->freemap), and the segment is on
 *     pool.avail  <=>  free_pages > 0;
 *   - the segmap bit of a segment is set  <=>  it is active.
 * A wholly free segment beyond HZ3_FREE_SEGS_KEEP is decommitted and its
 * slot in the reservation is reused later (the address space is kept).
 */
#include <errno.h>
#include "hz3_internal.h"


uint64_t _hz3_segmap[HZ3_SEGMAP_BITS / 64];

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    hz3_segment_t *segments;      /* all active segments */
    hz3_segment_t *avail;         /* active segments with free pages (next_avail) */
    hz3_reservation_t *reservations;
    uint64_t nreservations, reserved_bytes;
    uint64_t nsegments, nfree_whole;
    uint64_t span_pages, free_pages, freed_segments;
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

static void segmap_set(uintptr_t seg, bool on)
{
    uintptr_t i = seg >> HZ3_SEG_SHIFT;
    uint64_t bit = (uint64_t)1 << (i & 63);
    if (on) __atomic_fetch_or(&_hz3_segmap[i >> 6], bit, __ATOMIC_RELEASE);
    else __atomic_fetch_and(&_hz3_segmap[i >> 6], ~bit, __ATOMIC_RELEASE);
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

static void avail_push(hz3_segment_t *seg)
{
    if (seg->in_avail) return;
    seg->in_avail = true;
    seg->next_avail = pool.avail;
    pool.avail = seg;
}

static void avail_remove(hz3_segment_t *seg)
{
    if (!seg->in_avail) return;
    hz3_segment_t **pp = &pool.avail;
    while (*pp != seg) pp = &(*pp)->next_avail;
    *pp = seg->next_avail;
    seg->in_avail = false;
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
    avail_push(seg);
    segmap_set((uintptr_t)seg, true);
    return seg;
}

static void segment_free(hz3_segment_t *seg)
{
    avail_remove(seg);
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
    _hz3_os_decommit(seg, HZ3_SEG_SIZE);
}

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

/* First fit of n pages set in map; -1 if none. Walks runs of set bits a
 * word at a time: cost grows with the number of runs, not with n. */
static int find_run_in(const uint64_t *map, unsigned n)
{
    for (unsigned i = next_bit(map, 0, true); i < HZ3_SEG_PAGES;) {
        unsigned end = next_bit(map, i, false);
        if (end - i >= n) return (int)i;
        i = next_bit(map, end, true);
    }
    return -1;
}

static int find_run(const hz3_segment_t *seg, unsigned n) { return find_run_in(seg->freemap, n); }

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

hz3_span_t *_hz3_pool_take_pages(unsigned cls, unsigned pages, hz3_heap_t *owner)
{
    const hz3_class_t *c = &_hz3_classes[cls];
    pthread_mutex_lock(&pool_lock);
    hz3_segment_t *seg;
    int idx = -1;
    /* Pages that may still be resident first: reusing them costs no fault
     * and no new memory. */
    /* Runs and class spans keep to segments of their own kind: small spans
     * scattered among big runs would leave no room for the next big run. A
     * wholly free segment serves either kind. */
    bool runs = cls == HZ3_CLASS_RUN;
    for (seg = pool.avail; seg; seg = seg->next_avail)
        if ((seg->runs == runs || seg->free_pages == HZ3_SEG_USABLE_PAGES) && seg->dirty_free_pages >= pages &&
            (idx = find_run_in(seg->dirtymap, pages)) >= 0)
            break;
    if (!seg)
        for (seg = pool.avail; seg; seg = seg->next_avail)
            if ((seg->runs == runs || seg->free_pages == HZ3_SEG_USABLE_PAGES) && seg->free_pages >= pages &&
                (idx = find_run(seg, pages)) >= 0)
                break;
    if (!seg) {
        seg = segment_new();
        if (!seg) {
            pthread_mutex_unlock(&pool_lock);
            errno = ENOMEM;
            return NULL;
        }
        idx = HZ3_SEG_META_PAGES;
    } else if (seg->free_pages == HZ3_SEG_USABLE_PAGES) {
        pool.nfree_whole--;   /* a kept free segment is in use again */
    }
    seg->runs = runs;
    freemap_set(seg, (unsigned)idx, pages, false);
    map_set(seg->dirtymap, (unsigned)idx, pages, false);
    seg->free_pages = (uint16_t)(seg->free_pages - pages);
    if (seg->free_pages == 0) avail_remove(seg);
    pool.free_pages -= pages;
    pool.span_pages += pages;

    /* The span is complete before the lock is released: the census reads
     * span entries under this lock. */
    hz3_span_t *s = &seg->spans[idx];
    header_mark(seg, (unsigned)idx, pages);
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
    s->capacity = c->capacity;
    s->extended = 0;
    s->cls = (uint8_t)cls;
    _hz3_where_set(s, HZ3_WHERE_NONE);
    s->next = s->prev = NULL;
    s->local_free = NULL;
    atomic_store_explicit(&s->thread_free, 0, memory_order_relaxed);
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
    atomic_store_explicit(&s->thread_free, 0, memory_order_relaxed);
    freemap_set(seg, idx, pages, true);
    map_set(seg->dirtymap, idx, pages, true);
    seg->dirty_free_pages = (uint16_t)(seg->dirty_free_pages + pages);
    seg->free_pages = (uint16_t)(seg->free_pages + pages);
    pool.free_pages += pages;
    pool.span_pages -= pages;
    avail_push(seg);
    if (seg->free_pages == HZ3_SEG_USABLE_PAGES) {
        seg->whole_free_since_ms = now;
        pool.nfree_whole++;
    }
    pthread_mutex_unlock(&pool_lock);
}

/* Decommits the free pages of a segment that may be resident and went
 * free at or before `before_ms`, one madvise per run. Returns pages
 * decommitted; adds the madvise calls to *calls. */
static uint64_t segment_decommit_free(hz3_segment_t *seg, uint64_t before_ms, uint64_t *calls)
{
    uint64_t purged = 0;
    unsigned i = HZ3_SEG_META_PAGES;
    while (i < HZ3_SEG_PAGES) {
        unsigned j = i;
        while (j < HZ3_SEG_PAGES && (seg->freemap[j >> 6] & ((uint64_t)1 << (j & 63))) &&
               (seg->spans[j].page_flags & HZ3_PAGE_DIRTY) && seg->spans[j].freed_ms <= before_ms) {
            seg->spans[j].page_flags = HZ3_PAGE_PURGED;
            seg->dirtymap[j >> 6] &= ~((uint64_t)1 << (j & 63));
            j++;
        }
        if (j > i) {
            _hz3_os_decommit((uint8_t *)seg + ((size_t)i << HZ3_PAGE_SHIFT), (size_t)(j - i) << HZ3_PAGE_SHIFT);
            purged += j - i;
            seg->dirty_free_pages = (uint16_t)(seg->dirty_free_pages - (j - i));
            (*calls)++;
        }
        i = j + 1;
    }
    return purged;
}

/* Gives back what stayed free for delay_ms: free pages are decommitted,
 * wholly free segments beyond HZ3_FREE_SEGS_KEEP are released (with
 * delay_ms == 0: all of them, and every free page). A page freed a moment
 * ago in a busy segment is left alone: it would fault straight back in. */
void _hz3_pool_purge(uint64_t now_ms, uint64_t delay_ms, struct hz3_epoch_info *info)
{
    /* delay 0: everything free now, also what a purge gave back after
     * now_ms was read (the clock is coarse). */
    uint64_t before = delay_ms == 0 ? UINT64_MAX : now_ms >= delay_ms ? now_ms - delay_ms : 0;
    pthread_mutex_lock(&pool_lock);
    hz3_segment_t *seg = pool.segments;
    while (seg) {
        hz3_segment_t *next = seg->next;
        if (seg->free_pages == HZ3_SEG_USABLE_PAGES && seg->whole_free_since_ms <= before &&
            (delay_ms == 0 || pool.nfree_whole > HZ3_FREE_SEGS_KEEP)) {
            info->pages_purged += seg->dirty_free_pages;
            info->madvise_calls++;
            info->segments_unmapped++;
            pool.nfree_whole--;
            segment_free(seg);
        } else if (seg->dirty_free_pages) {
            info->pages_purged += segment_decommit_free(seg, before, &info->madvise_calls);
        }
        seg = next;
    }
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
