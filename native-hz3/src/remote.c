/*
 * remote.c: frees of blocks whose span another thread owns, batched per
 * target span (the rules are in hz3_types.h, "Remote batches").
 *
 * Why batch: the push onto a span's thread_free is a CAS on the span
 * entry's cache line, which the owner writes on every malloc and free of
 * the span. Pushed one block at a time, that line crossed between cores on
 * every remote free; a group of n blocks of one span crosses it once.
 *
 * The batch is a small direct-mapped table: a span's group sits in the slot
 * its address hashes to; a span that finds its slot taken pushes the other
 * span's group first. Blocks are chained through their first word and carry
 * the free key, as on any free list, so a second free of a batched block is
 * found by the generic free (_hz3_span_has_free asks every heap's batch).
 * Everything here is the batch owner's, except that a double-free check on
 * another thread reads the groups: the fields it reads are written with
 * relaxed atomic stores (plain moves on x86-64).
 */
#include "hz3_hot.h"

static inline unsigned slot_of(const hz3_span_t *s)
{
    /* entry index within the header, mixed with the segment's address */
    uintptr_t x = (uintptr_t)s >> 6;
    x ^= x >> (HZ3_SEG_SHIFT - 6);
    return (unsigned)x & (HZ3_REMOTE_SLOTS - 1);
}

static void flush_group(hz3_remote_batch_t *rb, unsigned k)
{
    hz3_remote_group_t *g = &rb->group[k];
    _hz3_span_push_remote(g->span, g->head, g->tail, g->count);
    rb->blocks -= g->count;
    rb->slots_used &= ~((uint64_t)1 << k);
    __atomic_store_n(&g->span, NULL, __ATOMIC_RELAXED);
}

void _hz3_remote_batch_flush(hz3_heap_t *h)
{
    hz3_remote_batch_t *rb = &h->remote;
    for (uint64_t m = rb->slots_used; m; m &= m - 1) flush_group(rb, (unsigned)__builtin_ctzll(m));
}

/* Everything this thread freed for other threads' spans: its block caches
 * (bcache.c) go into the batch, and the batch to the spans. */
void _hz3_remote_flush(hz3_heap_t *h)
{
    _hz3_bcache_flush_all(h);
    _hz3_remote_batch_flush(h);
}

/* A block for a span whose group is not in its slot, or a full batch. */
static HZ3_NOINLINE void add_slow(hz3_heap_t *h, hz3_span_t *s, hz3_block_t *b)
{
    if (HZ3_UNLIKELY(h == &_hz3_heap_empty) && (h = _hz3_heap_for_remote()) == NULL) {
        /* A thread past its end (or out of memory) has no batch: push at once. */
        _hz3_span_push_remote(s, b, b, 1);
        return;
    }
    hz3_remote_batch_t *rb = &h->remote;
    unsigned k = slot_of(s);
    hz3_remote_group_t *g = &rb->group[k];
    if (g->span == s) {
        b->next = g->head;
    } else {
        if (g->span) flush_group(rb, k);
        if (rb->blocks == 0) rb->age = 0;
        b->next = NULL;
        g->tail = b;
        g->count = 0;
        __atomic_store_n(&g->span, s, __ATOMIC_RELAXED);
        rb->slots_used |= (uint64_t)1 << k;
    }
    __atomic_store_n(&g->head, b, __ATOMIC_RELAXED);
    g->count++;
    if (++rb->blocks >= HZ3_REMOTE_BATCH) _hz3_remote_batch_flush(h);
}

/* The common case inline: the span's group is in its slot and the batch
 * has room. The shared empty heap's slots are all unused, so a thread with
 * no heap yet always goes to add_slow. */
static inline void add(hz3_heap_t *h, hz3_span_t *s, hz3_block_t *b)
{
    _hz3_key_set(b);
    hz3_remote_batch_t *rb = &h->remote;
    hz3_remote_group_t *g = &rb->group[slot_of(s)];
    if (HZ3_LIKELY(g->span == s && rb->blocks < HZ3_REMOTE_BATCH - 1)) {
        b->next = g->head;
        __atomic_store_n(&g->head, b, __ATOMIC_RELAXED);
        g->count++;
        rb->blocks++;
        return;
    }
    add_slow(h, s, b);
}

/* A checked block for the batch, from the generic free or a block cache's
 * flush or overflow (bcache.c). A cache holds the owner's own blocks too
 * (the local free's, hz3_hot.h): those go straight onto their span's
 * thread_free, where the owner's refill collects them (one CAS each, on a
 * line this thread writes anyway), not through a batch slot. A census
 * flushes the caches of the thread that runs it: a slot never used before
 * is a heap-record page written for the first time, which the census
 * must not cause (test-census, unwritten headers). */
void _hz3_remote_batch_add(hz3_heap_t *h, hz3_span_t *s, hz3_block_t *b)
{
    if (_hz3_owner_of(s) == h) {
        _hz3_key_set(b);
        _hz3_span_push_remote(s, b, b, 1);
        return;
    }
    add(h, s, b);
}

/* A checked block that the common case below does not cache: its class's
 * cache is full (half of it goes to the batch, bcache.c), or this thread
 * does not cache the class (into the batch), or it is a single (into this
 * thread's singles' cache, single.c), or a run (given back whole by the
 * generic free). */
static HZ3_NOINLINE void free_remote_checked(hz3_block_t *b, uint32_t t, const void *caller)
{
    unsigned cls = t >> HZ3_TAG_CLS_SHIFT;
    hz3_span_t *s = &_hz3_segment_of(b)->spans[_hz3_tag_head(t)];
    if (HZ3_LIKELY(_hz3_free_check[cls].capacity > 1)) {
        hz3_heap_t *h = _hz3_tl_heap;
        hz3_bcache_t *bc = &h->bcache[cls];
        if (_hz3_bcache_limit(bc)) _hz3_bcache_overflow(h, bc, s, b);
        else add(h, s, b);
        return;
    }
    if (cls != HZ3_CLASS_RUN) {
        _hz3_single_free_remote(s, b);
        return;
    }
    _hz3_free_generic(b, caller, "free");
}

_Static_assert(sizeof(hz3_bcache_t) == 16, "_hz3_free_remote_fast scales the class by 16");

/* A free of a block whose page's tag t names another owner (hz3_hot.h),
 * for the server whose objects other threads free: into this thread's
 * block cache of the class while it has room, from the tag free loaded.
 * The generic free takes what this does not check itself: pages in no
 * span, interior pointers, blocks that carry the free key, and spans
 * holding a sampled object (tagged: the side table must hear of the free,
 * and the owner's own frees of such a span arrive here too). All from the
 * page's tag and the class: the span entry, which its owner writes all the
 * time, is read only when the batch is pushed. Offsets past the blocks are past
 * blocks_end, which is within the span. */
void _hz3_free_remote_fast(void *p, uint32_t t, const void *caller)
{
    /* the class's cache from the tag's top bits: one shift and add (an
     * index gcc scales anew for each field) */
    hz3_bcache_t *bc = (hz3_bcache_t *)((char *)_hz3_tl_heap->bcache + ((size_t)(t >> HZ3_TAG_CLS_SHIFT) << 4));
    uint32_t head = t & (0xFFu << HZ3_TAG_HEAD_SHIFT);
    hz3_block_t *b = p;
    if (HZ3_LIKELY(head != 0 && !(t & HZ3_TAG_SAMPLED))) {
        size_t off = ((uintptr_t)p & HZ3_SEG_MASK) - (head >> (HZ3_TAG_HEAD_SHIFT - HZ3_PAGE_SHIFT));
        if (HZ3_LIKELY(!HZ3_FREE_CHECKS ||
                       (_hz3_is_block_start_f(_hz3_free_check_of(t), off) && !_hz3_key_found(b)))) {
            uint16_t n = bc->count;
            if (HZ3_LIKELY(n < _hz3_bcache_limit(bc))) {
                _hz3_key_set(b);
                b->next = bc->head;
                __atomic_store_n(&bc->head, b, __ATOMIC_RELAXED);
                __atomic_store_n(&bc->count, (uint16_t)(n + 1), __ATOMIC_RELAXED);
                return;
            }
            free_remote_checked(b, t, caller);
            return;
        }
    }
    _hz3_free_generic(b, caller, "free");
}

/* Whether b is in h's group for s: a bounded walk that follows only blocks
 * of s, so that a group changing under another thread's look is safe; or
 * in h's block cache of the class. */
bool _hz3_remote_batch_has(const hz3_heap_t *h, const hz3_span_t *s, const hz3_block_t *b)
{
    if (_hz3_bcache_has(h, s->cls, b)) return true;
    const hz3_remote_group_t *g = &h->remote.group[slot_of(s)];
    if (__atomic_load_n(&g->span, __ATOMIC_RELAXED) != s) return false;
    uintptr_t start = (uintptr_t)_hz3_span_start(s);
    const hz3_block_t *x = __atomic_load_n(&g->head, __ATOMIC_RELAXED);
    for (unsigned i = 0; x && i < HZ3_REMOTE_BATCH; i++) {
        if (x == b) return true;
        if ((uintptr_t)x < start || !_hz3_is_block_start(s, (uintptr_t)x - start)) return false;
        x = __atomic_load_n(&x->next, __ATOMIC_RELAXED);
    }
    return false;
}
