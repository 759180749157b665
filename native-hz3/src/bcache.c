/*
 * bcache.c: each heap's caches of freed blocks, one per class (small,
 * sub4k, medium; singles, 20-32 KiB, have a second cache behind this one:
 * single.c).
 *
 * Why: a free of a block another thread made used to go, through the
 * remote batch, onto its span's thread_free (a CAS on a line the owner
 * writes), wait for the owner to collect it, and come back to the owner's
 * malloc: lines crossing cores at every step. A server whose objects are
 * freed by other threads (larson) did that for two frees in three. Here the
 * freeing thread keeps the block and its own next malloc of the class
 * takes it back (hz3_hot.h), hot in its cache, with no atomic and no owner
 * involved, as tcmalloc's thread caches do. The remote free pushes on its out-of-line half (remote.c,
 * from the tag free loaded); the local free of every shared class pushes
 * too while the cache has room (hz3_hot.h); malloc pops the cache before
 * it looks at its span (hz3_hot.h), so the block freed last comes back
 * first, its line still hot, and a malloc and free served here change no
 * span entry: the spans' paths run only when the cache is full or empty.
 * (A cache behind the span lists, popped only when the span ran dry, cost
 * glibc_thread 1.55-1.77x the CPU: the frees filled it and its overflows
 * went home through the batch (bench/RESULTS.md, 2026-12-03); popped
 * first, it empties as fast as it fills, and a local free past its room
 * goes to its span.)
 *
 * What a cached block is: freed, keyed, chained on the cache's list, and
 * still counted in its span's used (nothing on the owner's line changes),
 * so its span is never empty to a purge while it is cached and no purge,
 * decay or reclaim gives the span back under it. The census subtracts the
 * caches from the live counts (census.c; include/hz3.h says where the
 * pages count); a single, alone in its span, it finds by its key, and
 * counts its pages empty and held. A single goes back through the local
 * free (single.c, _hz3_single_uncache), not the remote batch: an empty
 * single is on no span's thread_free list to be drained. Singles are bounded in
 * bytes alone (HZ3_BCACHE_SINGLE_BYTES a class: each is a span of 5-8
 * pages), outside the budget below.
 * A thread caches a class only once it allocates the class itself
 * (limit is armed by its first slow path of the class: a consumer that
 * never allocates pushes to the owners at once, as before), and at most
 * about HZ3_BCACHE_CLASS_BYTES of a small or sub4k class, within the
 * thread's budget for those classes together (HZ3_BCACHE_BUDGET, levelled
 * in blocks when it runs short: within_budget), and HZ3_BCACHE_MEDIUM_BLOCKS
 * of a shared medium class; a free into a
 * full cache sends the older half home: the heap's own blocks onto their
 * spans by the local push, other threads' through the remote batch.
 * Everything goes back to the owners (limits disarmed) when the thread
 * ends, when it runs an epoch itself (census, snapshot, purge:
 * _hz3_remote_flush), and on its
 * first slow path after a timer epoch or a purge (decay): an idle thread
 * keeps its caches until it runs again, as it keeps its batch. The batch's
 * aging (every 64 slow paths) pushes the batch alone: emptying the caches
 * there too sent larson's blocks home and back about as often as they
 * were reused (bench/RESULTS.md, 2026-12-03 (day)).
 *
 * The caches are the owner's alone; a double-free check on another thread
 * walks them (bounded, following only pointers that are blocks of the
 * class), and the census reads their counts: both with relaxed loads of
 * fields written with relaxed stores (plain moves on x86-64).
 */
#include "hz3_hot.h"
#include "sample.h"

/* The block's span, from its page tag (b is a checked block). */
static hz3_span_t *span_of_block(hz3_block_t *b)
{
    return &_hz3_segment_of(b)->spans[_hz3_tag_head(_hz3_tag_of(b))];
}

static void to_batch(hz3_heap_t *h, hz3_block_t *b)
{
    while (b) {
        hz3_block_t *next = b->next;
        _hz3_remote_batch_add(h, span_of_block(b), b);
        b = next;
    }
}

/* The older half of a full cache, on a free from another thread's span
 * (remote.c): the local free's branch past the bound caches the heap's own
 * medium and sub4k blocks too, and those go onto their spans as that free
 * would have put them (_hz3_free_push), not through the remote batch, whose
 * CAS onto the span's thread_free and later collection they do not need.
 * (No lock is held here: the push may take the heap's, as a free does.) */
static void to_owners(hz3_heap_t *h, hz3_block_t *b)
{
    while (b) {
        hz3_block_t *next = b->next;
        hz3_span_t *s = span_of_block(b);
        if (_hz3_owner_of(s) == h) _hz3_free_push(s, b);
        else _hz3_remote_batch_add(h, s, b);
        b = next;
    }
}

/* Keeps the cache's `keep` newest blocks (at least one) and sends the
 * older ones home. */
static void send_older(hz3_heap_t *h, hz3_bcache_t *bc, unsigned keep)
{
    hz3_block_t *last = bc->head;
    for (unsigned i = 1; i < keep; i++) last = last->next;
    hz3_block_t *old = last->next;
    last->next = NULL;
    __atomic_store_n(&bc->count, (uint16_t)keep, __ATOMIC_RELAXED);
    to_owners(h, old);
}

void _hz3_bcache_overflow(hz3_heap_t *h, hz3_bcache_t *bc, hz3_span_t *s, hz3_block_t *b)
{
    /* Sampling turned on since the class was armed: the samples' counting
     * is on the span paths, so the cache empties and stays off. */
    if (HZ3_UNLIKELY(atomic_load_explicit(&_hz3_sample_mean, memory_order_relaxed) != 0)) {
        hz3_block_t *all = bc->head;
        __atomic_store_n(&bc->head, NULL, __ATOMIC_RELAXED);
        __atomic_store_n(&bc->count, (uint16_t)0, __ATOMIC_RELAXED);
        if (_hz3_classes[bc - h->bcache].tier != HZ3_TIER_MEDIUM)   /* the budget's classes */
            h->bcache_armed_bytes -= (uint32_t)_hz3_bcache_limit(bc) * _hz3_classes[bc - h->bcache].size;
        __atomic_store_n(&bc->limit, (uint16_t)0, __ATOMIC_RELAXED);
        to_batch(h, all);
        _hz3_remote_batch_add(h, s, b);
        return;
    }
    /* Keep the newer half (the lines last written), send the older. */
    send_older(h, bc, bc->count / 2);
    _hz3_key_set(b);
    b->next = bc->head;
    __atomic_store_n(&bc->head, b, __ATOMIC_RELAXED);
    __atomic_store_n(&bc->count, (uint16_t)(bc->count + 1), __ATOMIC_RELAXED);
}

/* The classes whose arm found no room at HZ3_BCACHE_LEVEL_MIN blocks
 * since the thread's caches were last flushed: their slow paths, which
 * try to arm them each time, then do not level the budget again. */
static HZ3_TLS uint64_t tl_refused;

static void flush_all(hz3_heap_t *h, bool locked)
{
    hz3_block_t *singles = NULL;
    if (h == _hz3_tl_heap) tl_refused = 0;
    if (h->bcache_armed_bytes) h->bcache_armed_bytes = 0;   /* the shared empty heap: never written */
    for (unsigned cls = 0; cls < _hz3_num_classes; cls++) {
        hz3_bcache_t *bc = &h->bcache[cls];
        /* nothing cached (and the shared empty heap: never written); a
         * limit zeroed by sampling's disarm may leave blocks cached */
        if (!_hz3_bcache_limit(bc) && !bc->head) continue;
        if (_hz3_bcache_limit(bc)) __atomic_store_n(&bc->limit, (uint16_t)0, __ATOMIC_RELAXED);
        if (!bc->head) continue;
        hz3_block_t *all = bc->head;
        __atomic_store_n(&bc->head, NULL, __ATOMIC_RELAXED);
        __atomic_store_n(&bc->count, (uint16_t)0, __ATOMIC_RELAXED);
        if (_hz3_classes[cls].capacity > 1) {
            to_batch(h, all);
            continue;
        }
        /* Singles: an empty single gets no remote free, so through the
         * local free (single.c), all classes' in one hold of the lock. */
        hz3_block_t *last = all;
        while (last->next) last = last->next;
        last->next = singles;
        singles = all;
    }
    if (singles) _hz3_single_uncache(h, singles, locked);
}

void _hz3_bcache_flush_all(hz3_heap_t *h) { flush_all(h, false); }
void _hz3_bcache_flush_all_locked(hz3_heap_t *h) { flush_all(h, true); }

#ifndef HZ3_BCACHE_LEVEL_MIN
#define HZ3_BCACHE_LEVEL_MIN 16u
#endif
_Static_assert(HZ3_BCACHE_LEVEL_MIN >= 2, "an overflow halves a cache: no cut below 2 blocks");

/* Cuts class k's cache (not a single's) to n blocks, n below its limit:
 * the limit, and the older blocks past n sent home as an overflow sends
 * them (h->lock not held). */
static void cut(hz3_heap_t *h, unsigned k, unsigned n)
{
    hz3_bcache_t *bc = &h->bcache[k];
    h->bcache_armed_bytes -= (uint32_t)(_hz3_bcache_limit(bc) - n) * _hz3_classes[k].size;
    __atomic_store_n(&bc->limit, (uint16_t)n, __ATOMIC_RELAXED);
    if (bc->count > n) send_older(h, bc, n);
}

/* The bytes of h's budgeted caches (small and sub4k) if none held more
 * than `level` blocks, class cls armed at `want`. */
static uint64_t bytes_at(const hz3_heap_t *h, unsigned cls, unsigned want, unsigned level)
{
    uint64_t sum = (uint64_t)(want < level ? want : level) * _hz3_classes[cls].size;
    for (unsigned k = 0; k < _hz3_num_classes; k++) {
        if (_hz3_classes[k].tier == HZ3_TIER_MEDIUM) continue;
        unsigned lim = _hz3_bcache_limit(&h->bcache[k]);
        sum += (uint64_t)(lim < level ? lim : level) * _hz3_classes[k].size;
    }
    return sum;
}

/* n blocks of class cls (small or sub4k) within the thread's budget, all
 * those classes together: a thread that allocates many classes
 * (rptest) held up to a class's bytes in each. Counted in limits, which
 * change only here and at a disarm: the fast paths' count < limit then
 * bounds the bytes, with nothing added to them. A class that finds the
 * budget spent levels the caches in blocks: no armed class keeps more
 * than the most blocks that every class can then have (water-filling),
 * the older blocks past it going home, but none is cut below
 * HZ3_BCACHE_LEVEL_MIN: the class stays unarmed instead, its frees sent
 * to the owners. Why: a server that frees and allocates many classes at
 * random (larson, 16 B-4 KiB: 28 classes) had the classes armed first
 * take the budget, the small ones at up to 128 blocks, and about ten of
 * 1-4 KiB left unarmed, their frees sent home through the remote batch;
 * a cache's misses go as one over its depth in blocks, whatever its
 * size, so equal depths serve a mix of sizes best. Below 16 blocks, the
 * overflows of shallow caches cost a thread that frees its own blocks in
 * bursts more than they save (rptest: free +11 instructions at 2-4
 * blocks, +1 at 16; bench/RESULTS.md, 2026-12-03 (night)). A flush
 * (decay, an epoch) disarms all, and the classes in use then take the
 * budget anew. Returns the blocks to arm, 0 for none. */
static unsigned within_budget(hz3_heap_t *h, unsigned cls, unsigned n)
{
    unsigned size = _hz3_classes[cls].size;
    if ((uint64_t)n * size <= HZ3_BCACHE_BUDGET - h->bcache_armed_bytes) return n;
    if (h == _hz3_tl_heap && (tl_refused >> cls & 1)) return 0;
    /* the level: bytes_at(lo) fits. It may be above n: a shared medium
     * class wants 8 blocks (HZ3_BCACHE_MIN), below the least a cut leaves
     * the others. */
    unsigned lo = 0, hi = HZ3_BCACHE_MAX;
    while (lo < hi) {
        unsigned mid = (lo + hi + 1) / 2;
        if (bytes_at(h, cls, n, mid) <= HZ3_BCACHE_BUDGET) lo = mid;
        else hi = mid - 1;
    }
    if (lo < HZ3_BCACHE_LEVEL_MIN) {
        if (h == _hz3_tl_heap) tl_refused |= (uint64_t)1 << cls;
        return 0;
    }
    for (unsigned k = 0; k < _hz3_num_classes; k++)
        if (_hz3_classes[k].tier != HZ3_TIER_MEDIUM && _hz3_bcache_limit(&h->bcache[k]) > lo) cut(h, k, lo);
    return n < lo ? n : lo;
}

void _hz3_bcache_arm(hz3_heap_t *h, unsigned cls)
{
    const hz3_class_t *c = &_hz3_classes[cls];
    if (atomic_load_explicit(&_hz3_sample_mean, memory_order_relaxed) != 0 || c->size == 0) return;
    unsigned n;
    if (c->capacity == 1) {
        /* Singles: bounded in bytes alone (each is a span of its own), and
         * outside the budget: four classes of HZ3_BCACHE_SINGLE_BYTES are
         * 2 MiB at most, a bound of their own, and an empty single cached
         * here is one that the heap's cache of empty singles (single.c)
         * would hold otherwise. In the budget, they took every other
         * class's (larson 16 B-32 KiB) or the shared classes armed first
         * left them nothing (mixed 4-32 KiB: 13 medium classes, 2.1 MiB of
         * caches against 512 KiB), and an unarmed single's malloc and free
         * went through its span and the heap's singles' cache: 60.6 / 80.4
         * instructions per malloc / free against 28.2 / 59.3 with singles
         * out of the budget and the shared medium classes at 8 blocks each
         * (bench/RESULTS.md, 2026-12-03 (night)). The census tells a cached
         * one by its free key: a build without the key (HZ3_FREE_CHECKS=0,
         * for benches) caches none. */
        if (!HZ3_FREE_CHECKS) return;
        n = HZ3_BCACHE_SINGLE_BYTES / c->size;
    } else if (c->tier == HZ3_TIER_MEDIUM) {
        /* Shared medium classes (4-16 KiB): a bound of their own in blocks,
         * outside the budget as the singles are. A class's count of live
         * objects drifts at random in a churn of many sizes, and each time
         * its cache is full or empty the fast path's branch on it is
         * mispredicted (and the span's paths run); at 8 blocks inside the
         * budget that was one medium malloc or free in four (mixed 4-32
         * KiB, about 15 live objects a class). 16 blocks each, 9 classes:
         * 1.3 MiB at most (bench/RESULTS.md, 2026-12-03 (late)). */
        n = HZ3_BCACHE_MEDIUM_BLOCKS;
    } else {
        n = HZ3_BCACHE_CLASS_BYTES / c->size;
        if (n < HZ3_BCACHE_MIN) n = HZ3_BCACHE_MIN;
        if (n > HZ3_BCACHE_MAX) n = HZ3_BCACHE_MAX;
        if ((n = within_budget(h, cls, n)) == 0) return;
        h->bcache_armed_bytes += n * c->size;
    }
    __atomic_store_n(&h->bcache[cls].limit, (uint16_t)n, __ATOMIC_RELAXED);
    /* Sampling turned on since the test above: either its disarm of every
     * heap (heap.c) comes after these stores (the cuts' too) and zeroes
     * them, or this load sees the mean (both sides fence between their
     * store and their load). */
    atomic_thread_fence(memory_order_seq_cst);
    if (HZ3_UNLIKELY(atomic_load_explicit(&_hz3_sample_mean, memory_order_relaxed) != 0))
        for (unsigned k = 0; k < _hz3_num_classes; k++)
            if (_hz3_bcache_limit(&h->bcache[k])) __atomic_store_n(&h->bcache[k].limit, (uint16_t)0, __ATOMIC_RELAXED);
}

/* Whether x may be a block of class cls (a pointer read from a list that
 * its owner may be changing: it is followed only if this holds). */
static bool block_of_class(const hz3_block_t *x, unsigned cls)
{
    if (((uintptr_t)x & 15) || !_hz3_is_segment((uintptr_t)x)) return false;
    uint32_t t = _hz3_tag_of(x);
    unsigned head = _hz3_tag_head(t);
    if (!head || t >> HZ3_TAG_CLS_SHIFT != cls) return false;
    size_t off = ((uintptr_t)x & HZ3_SEG_MASK) - ((size_t)head << HZ3_PAGE_SHIFT);
    return _hz3_is_block_start_f(_hz3_free_check_of(t), off);   /* a page not carved whole refuses: no block on it is */
}

bool _hz3_bcache_has(const hz3_heap_t *h, unsigned cls, const hz3_block_t *b)
{
    const hz3_block_t *x = __atomic_load_n(&h->bcache[cls].head, __ATOMIC_RELAXED);
    for (unsigned i = 0; x && i < HZ3_BCACHE_MAX + 1; i++) {
        if (x == b) return true;
        if (!block_of_class(x, cls)) return false;
        x = __atomic_load_n(&x->next, __ATOMIC_RELAXED);
    }
    return false;
}
