/*
 * hz3_types.h: what the allocator is made of, and the rules that hold.
 *
 * Glossary
 *   page      4 KiB, the OS page and the unit of every count in reports.
 *   segment   1 MiB of address space aligned to 1 MiB, carved from a
 *             reservation. Its first HZ3_SEG_META_PAGES pages hold the
 *             segment header and one span entry per page; the rest are
 *             handed out as runs of pages.
 *   span      a run of pages inside a segment that holds objects of one size
 *             class. Its entry sits in the header at the index of its first
 *             page; the entries of its other pages point back (head_off).
 *   block     one object slot of a span. A free block holds the link of a
 *             free list in its first word and the free key (_hz3_free_key,
 *             random per process) in its second; a block handed out has a
 *             zero there. Blocks are at least 16 B, so both words fit.
 *   heap      one per thread (tl_heap): for every class the current span the
 *             fast path pops from, plus lists of the thread's other spans.
 *   run       an object above HZ3_MEDIUM_MAX that fits a segment: a span of
 *             its own page count (class HZ3_CLASS_RUN), straight from the
 *             page pool, no syscall (JVM direct buffers live here).
 *   large     objects above HZ3_RUN_MAX: an extent of pages each, outside
 *             segments; freed extents stay resident in a cache (best fit,
 *             split and merged) until purge_delay_ms or its bound.
 *
 * Where free blocks live (the design note behind the census)
 *   Free objects stay in their own span (free-list sharding, as mimalloc
 *   does), but for the few in block caches (below). A span has
 *     free          blocks the owner's malloc pops (no atomics)
 *     local_free    blocks the owner's free pushes (no atomics)
 *     thread_free   blocks freed by other threads: a tagged atomic word
 *                   holding the list head, the list length and a 2-bit
 *                   notify state; one CAS per chain pushed
 *   and a counter `used`, kept by the owner:
 *     used = blocks handed out - blocks freed locally - remote frees collected
 *   so at any moment
 *     live = used - |thread_free|                  (exact, no hot-path counter)
 *     used + |free| + |local_free| + (capacity - extended) == capacity   (owner's view)
 *   When free runs dry the malloc that finds it so takes local_free as the
 *   new free list (mimalloc's split): inline on the miss branch of the
 *   fast path when sampling is off, in alloc.c when it is on; when both
 *   are empty, the slow path collects thread_free and refills. The fast
 *   paths are the same instructions as with one list, and a list is handed
 *   out at least once per `capacity` mallocs from a span: that is where
 *   sampling (sample.c) works without a test on the fast path. The price:
 *   a local free is reused only after the current list runs dry (callgrind,
 *   bench/RESULTS.md: about 2 instructions more per malloc on dist_app).
 *
 * Sampled objects (sample.c)
 *   When sampling is on, every list handed to a class's fast path is
 *   charged against the blocks left before the class's next sample point
 *   (h->sample_left, exponential intervals in bytes), and cut to the blocks
 *   that fit before it (the rest waits on local_free); the malloc after
 *   them finds the list empty and is the sample (sample_list.c).
 *   While a span holds a live sample its owner word carries tag bit 0
 *   (owner | HZ3_OWNER_SAMPLED): the fast free's owner compare fails, so
 *   every free of the span goes to the generic path, which looks the
 *   block up in the side table. Every reader of owner masks the tag
 *   (_hz3_owner_of); writers that change the owner keep it (atomic and/or).
 *   A span whose live count reaches 0 holds no object anywhere, so its pages
 *   can go back at once: nothing of it sits in some other cache.
 *
 * Remote batches (remote.c)
 *   A thread that frees a block of a span it does not own does not push it
 *   at once: it keeps it in its heap's remote batch, chained per target span
 *   (HZ3_REMOTE_SLOTS groups, at most HZ3_REMOTE_BATCH blocks in all), and
 *   pushes each group onto its span's thread_free with one CAS. Until then
 *   the block is still counted in its span's used and is on no list, so
 *     live = used - |thread_free|  counts it as live,
 *   and a span with a block in some batch is never empty: no owner, purge,
 *   decay or reclaim of abandoned spans gives it back meanwhile. A thread
 *   flushes its batch when it is full, when a group's slot is wanted by
 *   another span, on the HZ3_REMOTE_BATCH_AGE-th allocation slow path of
 *   its thread since the oldest block went in (no clock: the slow paths
 *   count the age), before any epoch it runs (census, purge, snapshot) and
 *   when it ends. An idle thread's batch waits for it: at most
 *   HZ3_REMOTE_BATCH blocks per thread count as live after being freed.
 *
 * Block caches (bcache.c)
 *   In front of the span lists, each heap keeps per class a short LIFO of
 *   freed blocks that its next mallocs of the class pop first (hz3_hot.h):
 *   the blocks other threads made that it frees (instead of the remote
 *   batch), and its own frees while the cache has room and sampling is off
 *   (past it they go to their spans; singles, 20-32 KiB, too). A cached
 *   block is free and keyed but still counted in its span's used, so
 *     live = used - |thread_free| - (the block caches' blocks of the span)
 *   and the census subtracts the caches per class; a span with a cached
 *   block is never empty to a purge, as with the remote batch (a cached
 *   single, alone in its span, the census counts by its key: its pages
 *   empty and held, include/hz3.h). Bounded per class
 *   (HZ3_BCACHE_*), given back at the thread's end, its own epochs and its
 *   decay (bcache.c says when and why).
 *
 * Size classes (see size_class.c for the measurement behind the spacing)
 *   small   16..1024 B: 16 B steps to 128, then 4 classes per doubling.
 *           Spans of 1-4 pages holding at least 16 blocks.
 *   sub4k   1025..3584 B, same spacing; spans of 5-14 pages holding 16
 *           blocks, with a tail waste of at most 1/8 of the span, carved
 *           a few blocks at a time (2, then doubling: span.c), so that a
 *           span a thread barely uses keeps few pages resident.
 *   medium  3585..32768 B, same spacing (4096, 5120, ... 32768). Up to
 *           HZ3_MEDIUM_SHARED_MAX (16 KiB): spans of 16-32 pages holding
 *           8-16 blocks (at most 128 KiB, what one long-lived object can
 *           pin), no tail waste, carved one block at a time; a thread
 *           whose heap record served one that used few blocks of such a
 *           class starts with spans of about that many and doubles them
 *           up to that (heap.c says why), so a span's capacity and pages
 *           may be below its class's. Above (20, 24,
 *           28, 32 KiB, page multiples): singles, one object per span of its
 *           page count, so a long-lived one pins nothing but itself.
 *   Small, sub4k and shared medium classes are served alike: the fast path
 *   pops from the current span of the class (one table lookup for every
 *   size up to HZ3_MEDIUM_MAX). Singles never have a current span (the
 *   lookup finds the sentinel: a short path of their own, single.c) and
 *   are on no heap list while their object is live or in a block cache,
 *   so a free from any thread may take one: into the freeing thread's block
 *   cache of the class while it has room, then into its cache (where KEPT, on
 *   avail, up to HZ3_SINGLE_CACHE_PAGES), past it onto the abandoned list
 *   of its class (up to HZ3_SINGLE_DEPOT_PAGES per class), past that to
 *   the page pool. Runs (class HZ3_CLASS_RUN)
 *   are one object too, with no owner and no cache.
 *
 * What a purge from any thread returns (hz3_purge_now, malloc_trim)
 *   A heap's lists (avail, full, empty_kept, single_cache_pages) are touched
 *   by its owner's slow paths and by a purging thread, both under heap->lock
 *   (the owner's hits of its singles' cache without it, guarded by
 *   single_busy instead: single.c);
 *   the fast path never takes it: it pops only from heap->cur[cls] and pushes
 *   only onto spans that hold live objects. So a purge from any thread takes
 *   each live heap's lock in turn and gives back every span on its avail
 *   lists that holds no live object: empty spans the owner's slow path kept
 *   (HZ3_WHERE_KEPT: one per class, and the singles' cache), and spans
 *   other threads' frees emptied (used == |thread_free|; used is stored with
 *   release, so the purge sees the owner's writes), on avail or on full and
 *   queued on heap->delayed (the purge takes the delayed list over and
 *   queues the spans it leaves again). It does not take the current spans
 *   (heap->cur): the fast path pops from them without a lock, so they stay
 *   with their thread even when empty, until its next slow path of that
 *   class or its end.
 *   Races it closes: a purge may give back a span between the owner's free
 *   that emptied it and the owner's slow path for that free; the slow path
 *   then finds owner != h and does nothing. where is written with relaxed
 *   atomic stores and read so by the fast paths and the census (which
 *   holds only the pool lock); _hz3_pool_give leaves it alone, as the last
 *   owner's fast path may still be reading it.
 *   The census counts exactly this (_hz3_span_purgeable): cand_decommit_pages
 *   are resident empty pages of free segment pages, of those spans and of
 *   abandoned spans (an epoch reclaims these); resident empty pages of the
 *   current spans are held_empty_pages.
 *
 * Segment headers and the kernel's zero page
 *   Reading a never-written page of a segment header maps the shared zero
 *   page: mincore calls it resident, smaps Rss does not (and on kernels
 *   that give anonymous reads a page of their own, the read makes memory
 *   resident). seg->header_written has bit k set once header page k has
 *   been written (under the pool lock); the census and the invariant
 *   walker read no span entry on another page, and count such a page only
 *   if it is resident and, per /proc/self/pagemap, the process's own (part
 *   of a transparent huge page).
 */
#ifndef HZ3_TYPES_H
#define HZ3_TYPES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- build switches (compile-time defaults; -DHZ3_X=... overrides) ---- */
#ifndef HZ3_STEPS_PER_DOUBLING
#define HZ3_STEPS_PER_DOUBLING 4      /* classes per power of two above 128 B */
#endif
#ifndef HZ3_RESERVE_BYTES
#define HZ3_RESERVE_BYTES (64u << 20)  /* address space asked for per reservation */
#endif
#ifndef HZ3_FREE_CHECKS
#define HZ3_FREE_CHECKS 1              /* 0: no free key, no interior/double-free checks on the fast path (bench only) */
#endif
#ifndef HZ3_SMALL_MIN_CAPACITY
#define HZ3_SMALL_MIN_CAPACITY 16      /* small spans grow (to HZ3_SMALL_MAX_PAGES) until they hold this many */
#endif
#ifndef HZ3_SMALL_MAX_PAGES
#define HZ3_SMALL_MAX_PAGES 4
#endif
#ifndef HZ3_REJOIN_SHIFT
#define HZ3_REJOIN_SHIFT 2             /* a full span rejoins avail with capacity >> this free (size_class.c), */
#endif
#ifndef HZ3_REJOIN_MAX
#define HZ3_REJOIN_MAX 64              /* but at most this many (binds no class of today's: 256 blocks at most) */
#endif
#ifndef HZ3_SUB4K_MIN_CAPACITY
#define HZ3_SUB4K_MIN_CAPACITY 16      /* sub4k spans: up to HZ3_SUB4K_MAX_PAGES, at most 1/8 tail waste */
#endif
#ifndef HZ3_SUB4K_MAX_PAGES
#define HZ3_SUB4K_MAX_PAGES 16
#endif
#ifndef HZ3_MEDIUM_STEPS_PER_DOUBLING
#define HZ3_MEDIUM_STEPS_PER_DOUBLING 4 /* classes per power of two from 4 KiB to 32 KiB */
#endif
#ifndef HZ3_MEDIUM_CAPACITY
#define HZ3_MEDIUM_CAPACITY 16         /* blocks per medium span, at most */
#endif
#ifndef HZ3_MEDIUM_SPAN_PAGES
#define HZ3_MEDIUM_SPAN_PAGES 32       /* a medium span's pages, at most (128 KiB: what one live object can pin) */
#endif
#ifndef HZ3_MEDIUM_EXTEND
#define HZ3_MEDIUM_EXTEND 1            /* medium blocks carved per refill (0: the whole span at once) */
#endif
#ifndef HZ3_SMALL_EMPTY_KEEP
#define HZ3_SMALL_EMPTY_KEEP 1         /* empty multi-object spans a heap keeps per class, at least, */
#endif
#ifndef HZ3_EMPTY_KEEP_PAGES
#define HZ3_EMPTY_KEEP_PAGES 64        /* or more while they fit in this many pages, all classes together (256 KiB; span.c) */
#endif
#ifndef HZ3_SINGLE_DEPOT_PAGES
#define HZ3_SINGLE_DEPOT_PAGES 128     /* pages of empty singles per class on the abandoned lists (512 KiB), for any heap */
#endif
#ifndef HZ3_SINGLE_CACHE_PAGES
#define HZ3_SINGLE_CACHE_PAGES 256     /* pages of empty singles (medium above 16 KiB) a heap keeps (1 MiB) */
#endif
#ifndef HZ3_FREE_SEGS_KEEP
#define HZ3_FREE_SEGS_KEEP 1           /* wholly free segments kept resident before decommit */
#endif
#ifndef HZ3_LARGE_CACHE_MIN_BYTES
#define HZ3_LARGE_CACHE_MIN_BYTES ((size_t)64 << 20) /* freed large extents kept for reuse: at least this, */
#endif
#ifndef HZ3_LARGE_CACHE_LIVE_SHIFT
#define HZ3_LARGE_CACHE_LIVE_SHIFT 1   /* or up to live large bytes >> this (a half), if more */
#endif
#ifndef HZ3_LARGE_CACHE_SLOTS
#define HZ3_LARGE_CACHE_SLOTS 64       /* at most this many free extents */
#endif
#ifndef HZ3_REMOTE_BATCH
#define HZ3_REMOTE_BATCH 64            /* blocks a thread holds freed for other threads' spans before pushing them */
#endif
#ifndef HZ3_REMOTE_SLOTS
#define HZ3_REMOTE_SLOTS 64            /* target spans a remote batch groups by (a power of two) */
#endif
#ifndef HZ3_REMOTE_BATCH_AGE
#define HZ3_REMOTE_BATCH_AGE 64        /* a batch is pushed at the latest on its thread's 64th allocation slow path */
#endif
#ifndef HZ3_BCACHE_CLASS_BYTES
#define HZ3_BCACHE_CLASS_BYTES (32u << 10) /* a heap's block cache of one class: about this many bytes, */
#endif
#ifndef HZ3_BCACHE_MEDIUM_BLOCKS
#define HZ3_BCACHE_MEDIUM_BLOCKS 16u   /* a shared medium class's (4-16 KiB), in blocks, outside the budget (bcache.c) */
#endif
#ifndef HZ3_BCACHE_SINGLE_BYTES
#define HZ3_BCACHE_SINGLE_BYTES (512u << 10) /* the same for a single class (20-32 KiB: 25-16 objects), in bytes alone */
#endif
#ifndef HZ3_BCACHE_MIN
#define HZ3_BCACHE_MIN 8u              /* but at least this many blocks */
#endif
#ifndef HZ3_BCACHE_MAX
#define HZ3_BCACHE_MAX 128u            /* and at most this many */
#endif
#ifndef HZ3_BCACHE_BUDGET
#define HZ3_BCACHE_BUDGET (512u << 10) /* a heap's caches of the small and sub4k classes together: limit * size summed (bcache.c) */
#endif
#ifndef HZ3_FREED_RING
#define HZ3_FREED_RING 256             /* freed runs, singles and large objects remembered (double frees) */
#endif

/* ---- derived sizes ---- */
#define HZ3_PAGE_SHIFT 12
#define HZ3_PAGE_SIZE (1u << HZ3_PAGE_SHIFT)                   /* 4096 */
#define HZ3_SEG_SHIFT 20
#define HZ3_SEG_SIZE ((size_t)1 << HZ3_SEG_SHIFT)              /* 1 MiB */
#define HZ3_SEG_MASK (HZ3_SEG_SIZE - 1)
#define HZ3_SEG_PAGES (HZ3_SEG_SIZE >> HZ3_PAGE_SHIFT)         /* 256 */
#define HZ3_SEG_META_PAGES 5u                                  /* header + span entries */
#define HZ3_SEG_USABLE_PAGES (HZ3_SEG_PAGES - HZ3_SEG_META_PAGES) /* 251 */
#define HZ3_VA_BITS 47                                         /* x86-64 user space */
#define HZ3_SEGMAP_BITS ((size_t)1 << (HZ3_VA_BITS - HZ3_SEG_SHIFT)) /* 2^27 segments */

#define HZ3_SMALL_MAX 1024u    /* tiers of the size classes, all but singles served by the fast path */
#define HZ3_SUB4K_MAX 3584u
#define HZ3_MEDIUM_SHARED_MAX 16384u /* above: singles, one medium object per span (size_class.c says why) */
#define HZ3_MEDIUM_MAX 32768u  /* above: runs and large mappings */
#define HZ3_MAX_CLASSES 64
#define HZ3_CLASS_RUN (HZ3_MAX_CLASSES - 1)   /* spans holding one run object */
#define HZ3_CLASS_REFUSE (HZ3_MAX_CLASSES - 2) /* a page tag's class on pages not yet carved ("Page tags") */
#define HZ3_RUN_MAX ((size_t)HZ3_SEG_USABLE_PAGES << HZ3_PAGE_SHIFT) /* 1004 KiB: above, mappings */
#define HZ3_CLASS_TAB_LEN ((HZ3_MEDIUM_MAX >> 4) + 1)   /* class by (size+15)/16: 2049 bytes */
#define HZ3_ALIGN_MIN 16u

/* ---- blocks and the tagged thread_free word ----
 * bits 0-1: notify state; bits 4-47: list head (blocks are 16-aligned);
 * bits 48-63: list length (capacity <= 256, so it never overflows). */
typedef struct hz3_block {
    struct hz3_block *next;
    uintptr_t key;       /* _hz3_free_key while free, 0 once handed out (HZ3_FREE_CHECKS) */
} hz3_block_t;

enum {
    HZ3_TF_NORMAL = 0,     /* owner reads thread_free when it looks */
    HZ3_TF_NOTIFY = 1,     /* span is full and off the owner's lists: tell the owner */
    HZ3_TF_NOTIFYING = 2,  /* a freeing thread is telling the owner right now */
    HZ3_TF_NEVER = 3,      /* abandoned span: nobody to tell */
};
#define HZ3_TF_STATE_MASK ((uintptr_t)3)
#define HZ3_TF_PTR_MASK ((((uintptr_t)1 << 48) - 1) & ~(uintptr_t)15)
#define HZ3_TF_COUNT_SHIFT 48
static inline hz3_block_t *hz3_tf_ptr(uintptr_t w) { return (hz3_block_t *)(w & HZ3_TF_PTR_MASK); }
static inline unsigned hz3_tf_state(uintptr_t w) { return (unsigned)(w & HZ3_TF_STATE_MASK); }
static inline unsigned hz3_tf_count(uintptr_t w) { return (unsigned)(w >> HZ3_TF_COUNT_SHIFT); }
static inline uintptr_t hz3_tf_make(hz3_block_t *p, unsigned count, unsigned state)
{
    return (uintptr_t)p | ((uintptr_t)count << HZ3_TF_COUNT_SHIFT) | state;
}

/* ---- spans ---- */
enum hz3_span_kind {
    HZ3_SPAN_NONE = 0,   /* page not in a span (free, or never used) */
    HZ3_SPAN_HEAD = 1,   /* first page of a span: the entry describes the span */
    HZ3_SPAN_CONT = 2,   /* a later page of a span: head_off leads to the head */
};
enum hz3_span_where {     /* which list of its owner the span is on */
    HZ3_WHERE_NONE = 0,   /* current span, or a live single, or in transit */
    HZ3_WHERE_AVAIL = 1,  /* heap->avail[cls]: has or may have free blocks */
    HZ3_WHERE_FULL = 2,   /* heap->full[cls]: fewer free blocks than rejoin, thread_free in NOTIFY */
    HZ3_WHERE_KEPT = 3,   /* heap->avail[cls], empty and kept by its owner's slow path */
    HZ3_WHERE_ABANDONED = 4, /* global abandoned list of its class (an ended thread's, or an empty single) */
};

struct hz3_heap;

/* The span entry is one cache line (the fast paths touch only it). Room for
 * local_free came from the link on the owner's delayed list, which only the
 * notify path (a remote free into a full span) and the owner's drain use:
 * it lives in the segment header (hz3_segment_t.delayed_next). */
typedef struct hz3_span {
    union {
        hz3_block_t *free;              /* span head: the owner's malloc pops here */
        uint64_t freed_ms;              /* free page: when it went back to the pool */
    };
    hz3_block_t *local_free;            /* span head: the owner's free pushes here */
    uint16_t used;                      /* see the equations above; biased on the full list (_hz3_used_get) */
    uint16_t capacity;                  /* blocks in the span */
    uint16_t extended;                  /* blocks carved from fresh memory so far */
    uint8_t cls;
    uint8_t kind;                       /* enum hz3_span_kind */
    uint16_t pages;                     /* run length in pages (head entry) */
    uint16_t head_off;                  /* CONT entries: index distance to the head */
    uint8_t where;                      /* enum hz3_span_where */
    uint8_t page_flags;                 /* per page: HZ3_PAGE_DIRTY | HZ3_PAGE_PURGED */
    _Atomic uint16_t seq;               /* odd while the owner moves remote frees into used, or biases it */
    _Atomic uintptr_t thread_free;      /* tagged word, see above */
    _Atomic(struct hz3_heap *) owner;   /* NULL when free or abandoned; | HZ3_OWNER_SAMPLED */
    struct hz3_span *next, *prev;       /* the list named by `where` */
} hz3_span_t;

#define HZ3_OWNER_SAMPLED ((uintptr_t)1)  /* owner tag: the span holds a live sample */
static inline struct hz3_heap *_hz3_owner_of(hz3_span_t *s)
{
    return (struct hz3_heap *)((uintptr_t)atomic_load_explicit(&s->owner, memory_order_relaxed) & ~HZ3_OWNER_SAMPLED);
}
static inline bool _hz3_owner_tagged(hz3_span_t *s)
{
    return (uintptr_t)atomic_load_explicit(&s->owner, memory_order_relaxed) & HZ3_OWNER_SAMPLED;
}

/* Per-page flags, kept in the page's span entry (under the pool lock).
 * The census asks the kernel which pages are resident (mincore) and uses
 * PURGED to tell a decommitted page from one never touched. */
enum hz3_page_flags {
    HZ3_PAGE_DIRTY = 1,       /* free page: given back by a span since mapped or last decommitted */
    HZ3_PAGE_PURGED = 2,      /* decommitted at least once since the segment was mapped */
};

typedef struct hz3_span_list { hz3_span_t *first, *last; } hz3_span_list_t;

/* ---- segments ---- */
typedef struct hz3_segment {
    /* per page: its page tag (below), the free paths' view of the page; at
     * offset 0, so that its address is the segment's (no displacement) */
    uint32_t tag[HZ3_SEG_PAGES];        /* read and written with __atomic builtins */
    struct hz3_segment *next, *prev;    /* pool.segments (all active segments) */
    uint8_t header_written;             /* bit k: header page k written since the slot was mapped */
    bool in_avail;                      /* has free pages */
    uint8_t bin_kind;                   /* which bins of the free-page index its runs are in (pool_index.c) */
    bool runs;                          /* holds runs (large objects), not class spans */
    uint16_t free_pages;
    uint16_t dirty_free_pages;          /* free pages that may be resident */
    uint64_t whole_free_since_ms;       /* when the segment last became wholly free */
    uint64_t freemap[HZ3_SEG_PAGES / 64];  /* bit set = page free */
    uint64_t dirtymap[HZ3_SEG_PAGES / 64]; /* bit set = page free and maybe resident (reused first) */
    /* per span head: link on its owner's delayed list while notifying. On
     * header page 0, which every active segment has written. */
    struct hz3_span *delayed_next[HZ3_SEG_PAGES];
    /* one entry per page; metadata pages unused. 64-aligned, so that no
     * entry straddles two header pages. */
    _Alignas(64) hz3_span_t spans[HZ3_SEG_PAGES];
} hz3_segment_t;

_Static_assert(sizeof(hz3_span_t) == 64, "span entry size is part of the header budget");
_Static_assert(HZ3_SUB4K_MAX_PAGES * 4096u >= 2 * HZ3_SUB4K_MAX, "a sub4k span holds at least 2 blocks");
_Static_assert(HZ3_MEDIUM_CAPACITY >= 2 && HZ3_MEDIUM_CAPACITY <= 256 &&
               HZ3_MEDIUM_SPAN_PAGES * 4096u >= 2 * HZ3_MEDIUM_SHARED_MAX && HZ3_MEDIUM_SPAN_PAGES <= HZ3_SEG_USABLE_PAGES,
               "a medium span holds 2..256 blocks (thread_free's count) and fits a segment");
_Static_assert(sizeof(hz3_segment_t) <= HZ3_SEG_META_PAGES * 4096, "segment header must fit its pages");
_Static_assert(offsetof(hz3_segment_t, delayed_next) + sizeof(((hz3_segment_t *)0)->delayed_next) <= 4096,
               "delayed links stay on header page 0, always written");

/* Page tags
 *   The free fast paths read a page's tag instead of its span entry: the
 *   entry's line is the one its owner writes on every malloc and free, and a
 *   free from another thread that read it would pull it off the owner's core
 *   (and then again for the owner's next write). A tag changes only when its
 *   span is taken, given back, adopted, abandoned or gains or loses a sample,
 *   so it stays shared in every core's cache. A class carved lazily (sub4k
 *   and shared medium, span.c, extend) tags a page HZ3_CLASS_REFUSE until
 *   every block starting on it is carved (_hz3_pages_carved): that class's
 *   free check refuses every offset, so the free of a block never carved
 *   goes to the generic path, which checks the entry's carved count, and the
 *   free fast paths never read the entry's line. One 32-bit word per page:
 *     bits 0-15   owner: its heap's tag_owner | HZ3_TAG_SAMPLED (as owner's tag)
 *     bits 16-23  index of the span's head page; 0: the page is in no span
 *     bits 26-31  class of the span (byte 3 holds class << 2)
 *   Every page of a span carries all three. The tag mirrors the span entry
 *   (owner, kind, head_off, cls): the entry stays the authority, and every
 *   writer of those fields writes the tags too (validate.c checks head and
 *   class; owner bits change just after the entry's owner word, outside
 *   the pool lock the walker holds). A heap's tag_owner is its number << 1 for the first
 *   HZ3_TAG_IDS heaps made and 0 for the rest and for abandoned spans; the
 *   fast path compares with tag_self, which is tag_owner or
 *   HZ3_TAG_SELF_NONE, a value no tag holds, so that a heap with no number
 *   (and the shared empty heap) takes the remote path for every free. */
#define HZ3_TAG_SAMPLED 1u
#define HZ3_TAG_OWNER_MASK 0xFFFFu
#define HZ3_TAG_HEAD_SHIFT 16
#define HZ3_TAG_CLS_SHIFT 26
#ifndef HZ3_TAG_IDS
#define HZ3_TAG_IDS 0x7FFEu         /* a test build may lower it, to exercise heaps with no number */
#endif
_Static_assert(HZ3_TAG_IDS >= 1 && HZ3_TAG_IDS <= 0x7FFE, "numbers << 1 | sampled fit 16 bits, NONE too");
#define HZ3_TAG_SELF_NONE ((HZ3_TAG_IDS + 1u) << 1)   /* never a heap's number */
static inline uint32_t _hz3_tag_make(unsigned head, unsigned cls, unsigned owner_bits)
{
    return (uint32_t)head << HZ3_TAG_HEAD_SHIFT | (uint32_t)cls << HZ3_TAG_CLS_SHIFT | owner_bits;
}
static inline unsigned _hz3_tag_head(uint32_t t) { return (t >> HZ3_TAG_HEAD_SHIFT) & 0xFF; }

/* The link of span s on its owner's delayed list. */
static inline struct hz3_span **_hz3_delayed_link(hz3_span_t *s)
{
    hz3_segment_t *seg = (hz3_segment_t *)((uintptr_t)s & ~(uintptr_t)HZ3_SEG_MASK);
    return &seg->delayed_next[s - seg->spans];
}

/* ---- size classes ---- */
typedef struct hz3_class {
    uint64_t divisible;   /* ceil(2^64 / size): off % size == 0  <=>  off * divisible < divisible */
    uint32_t size;        /* block size */
    uint32_t blocks_end;  /* capacity * size: offsets past it are tail waste */
    uint16_t pages;       /* span length */
    uint16_t capacity;    /* blocks per span */
    uint8_t tier;         /* enum hz3_tier */
    uint16_t rejoin;      /* free blocks a full span needs before its owner's free puts it on avail */
} hz3_class_t;

/* What the free fast paths check a block against, per class: 32 bytes, so
 * that a page tag's class byte (class << 2) indexes it with one scaled
 * load (_hz3_free_check_of). Derived from hz3_class_t.
 *   divisible = floor(2^64 / size) + 1 = (2^64 + e) / size, 1 <= e <= size
 * (hz3_class_t's, except for a power of two, whose e would be 0). For an
 * offset below 2^20, off * divisible mod 2^64 is j * e when off is the
 * start of block j, and at least divisible otherwise (Lemire et al. 2019),
 * so the one compare off * divisible < capacity * e says both "a block
 * start" and "of one of the capacity blocks" (checked by a program for
 * every size 16..32768 B, capacities 1..2^20 / size and offsets below
 * 2^20 when written). */
typedef struct hz3_free_check {
    uint64_t divisible;   /* see above */
    uint64_t bound;       /* capacity * e; 0 for a lazily carved class (size_class.c) */
    uint32_t e;           /* so a span's first n blocks are the offsets with off * divisible < n * e */
    uint16_t capacity;
    uint16_t unused[5];
} hz3_free_check_t;
_Static_assert(sizeof(hz3_free_check_t) == 32, "indexed by class << 5");

/* ---- remote batches (see above) ---- */
typedef struct hz3_remote_group {
    hz3_span_t *span;           /* NULL: slot unused */
    hz3_block_t *head, *tail;   /* chained through next, most recent first */
    uint32_t count;
} hz3_remote_group_t;

typedef struct hz3_remote_batch {
    uint32_t blocks;            /* in all groups, <= HZ3_REMOTE_BATCH */
    uint32_t age;               /* allocation slow paths since the oldest block went in */
    uint64_t slots_used;        /* bit k: group[k] holds blocks */
    hz3_remote_group_t group[HZ3_REMOTE_SLOTS];  /* indexed by a hash of the span */
} hz3_remote_batch_t;
_Static_assert(HZ3_REMOTE_SLOTS <= 64 && (HZ3_REMOTE_SLOTS & (HZ3_REMOTE_SLOTS - 1)) == 0,
               "slots_used is a 64-bit mask indexed by a masked hash");

/* ---- block caches (bcache.c) ----
 * Per heap and shared class, blocks this thread freed (of its own spans
 * and other threads'), kept for its own mallocs of the class: LIFO, chained
 * through next, keyed as on any free list. limit is 0 (nothing is cached)
 * until the thread's first allocation slow path of the class. */
typedef struct hz3_bcache {
    hz3_block_t *head;          /* written with relaxed stores: a double-free check reads it */
    uint16_t count;
    uint16_t limit;             /* the owner's, but zeroed by whoever turns sampling on: relaxed atomics */
    uint32_t unused;
} hz3_bcache_t;

/* ---- thread heaps ---- */
/* Lock order: epoch_lock > heaps_lock > heap->lock > abandoned_lock, large_lock
 * > pool_lock > meta_lock. An owner never holds its heap lock while it
 * takes epoch_lock or heaps_lock. */
typedef struct hz3_heap {
    uint16_t tag_self;                         /* the free fast path's owner compare (page tags) */
    uint16_t tag_owner;                        /* what this heap's spans' tags carry as owner */
    hz3_span_t *cur[HZ3_MAX_CLASSES];          /* the fast path's span per class */
    hz3_bcache_t bcache[HZ3_MAX_CLASSES];      /* owner-only; read (never changed) by a double-free check and the census */
    hz3_span_list_t avail[HZ3_MAX_CLASSES];
    hz3_span_list_t full[HZ3_MAX_CLASSES];
    uint8_t empty_kept[HZ3_MAX_CLASSES];       /* empty spans on avail (not cur) */
    uint32_t single_cache_pages;               /* pages of KEPT singles on avail */
    uint32_t kept_pages;                       /* pages of KEPT multi-object spans on avail (span.c, keep_empty) */
    uint8_t medium_grown[HZ3_MAX_CLASSES];     /* shared medium classes: its next span from the pool holds 2 << this blocks (heap.c); kept across threads */
#define HZ3_MEDIUM_GROWN_FULL 7                /* 2 << 7 blocks: every class's full span */
    _Atomic uint32_t single_busy;              /* the owner is in its singles' cache (single.c, the guard) */
    uint32_t single_hits;                      /* cache hits left before one goes the slow way (single.c) */
    uint32_t bcache_armed_bytes;               /* the sum of limit * size over the armed block caches (bcache.c) */
    /* written by other threads (a remote free into a full span): a line of
     * its own, away from the lock the owner takes on every slow path */
    _Alignas(64) _Atomic(hz3_span_t *) delayed; /* spans whose remote free notified us */
    struct hz3_heap *next_free;                /* heap pool free list */
    struct hz3_heap *next_all;                 /* every heap record ever made (heaps_lock) */
    _Alignas(64) _Atomic uint32_t lock;        /* the lists above (_hz3_heap_lock); never taken by the fast path */
    uint64_t decay_gen;                        /* last maintenance request acted on */
    bool live;
    /* sampling (sample.h): blocks of each class to hand out before the one
     * its next sample point falls in, drawn afresh when sample_gen falls
     * behind the global one */
    uint64_t sample_gen;
    uint64_t sample_left[HZ3_MAX_CLASSES];
    hz3_remote_batch_t remote;                 /* owner-only; read (never changed) by a double-free check */
} hz3_heap_t;

#endif /* HZ3_TYPES_H */
