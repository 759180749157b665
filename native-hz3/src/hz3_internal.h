/*
 * hz3_internal.h: declarations shared between the allocator's files.
 * Public names are hz3_*, cross-file internal ones _hz3_*, file-local ones
 * static. Grouped by the file that defines them.
 */
#ifndef HZ3_INTERNAL_H
#define HZ3_INTERNAL_H

#include "hz3_types.h"
#include "../include/hz3.h"

/* Everything declared below is internal to the library: hidden visibility
 * lets the compiler reach globals and TLS without a GOT load. */
#pragma GCC visibility push(hidden)

#define HZ3_LIKELY(x) __builtin_expect(!!(x), 1)
#define HZ3_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HZ3_NOINLINE __attribute__((noinline))
#define HZ3_COLD __attribute__((noinline, cold))
#define HZ3_TLS __thread __attribute__((tls_model("initial-exec")))

/* The TSan build compiles the allocator under prefixed names so that TSan's
 * own malloc stays in charge of the process. */
#ifdef HZ3_TEST_PREFIX
#define HZ3_SYM(name) hz3t_##name
#else
#define HZ3_SYM(name) name
#endif
#define HZ3_EXPORT __attribute__((visibility("default")))

/* ---- size_class.c ---- */
extern hz3_class_t _hz3_classes[HZ3_MAX_CLASSES];
extern uint8_t _hz3_class_of16[HZ3_CLASS_TAB_LEN];  /* (size+15)/16 -> class, size <= HZ3_MEDIUM_MAX */
extern unsigned _hz3_num_classes;
extern hz3_free_check_t _hz3_free_check[HZ3_MAX_CLASSES];
void _hz3_classes_init(void);
static inline unsigned _hz3_class_of(size_t size) { return _hz3_class_of16[(size + 15) >> 4]; }  /* size <= HZ3_MEDIUM_MAX */
int _hz3_class_aligned(size_t size, size_t align);  /* -1 when no class fits */

/* ---- options.c ---- */
typedef struct hz3_options {
    bool on_error_warn;    /* HZ3_ON_ERROR=warn: report a bad pointer and go on */
    bool obs;              /* HZ3_OBS=1: exit report */
    const char *obs_file;  /* HZ3_OBS_FILE=path: report to path.PID instead of stderr */
    uint64_t sample_bytes; /* HZ3_SAMPLE_BYTES=N: sampling on from the start (hz3_sampling_set) */
} hz3_options_t;
extern hz3_options_t _hz3_opt;
void _hz3_options_init(void);
int _hz3_setting_set(const char *name, int64_t value);   /* -1: unknown name or out of range */
int64_t _hz3_setting_get(const char *name);             /* -1: unknown name */

/* ---- os.c ---- */
void *_hz3_os_map(size_t size);                 /* NULL on failure; never touches memory */
void *_hz3_os_map_aligned(size_t size, size_t align);
void _hz3_os_unmap(void *p, size_t size);
void _hz3_os_decommit(void *p, size_t size);    /* MADV_DONTNEED: zero on next touch */
void _hz3_os_populate(void *p, size_t size);    /* MADV_POPULATE_WRITE, where the kernel has it */
void *_hz3_os_remap(void *p, size_t old_size, size_t new_size); /* NULL on failure */
size_t _hz3_os_rss_of(uintptr_t start, uintptr_t end); /* resident bytes via mincore */
bool _hz3_os_resident(void *p, size_t pages, unsigned char *vec); /* mincore; false on error */
bool _hz3_os_page_private(void *p, size_t pages, bool *out);       /* pagemap: present and ours alone; false on error */
uint64_t _hz3_now_ms(void);                     /* monotonic, coarse (vDSO, no syscall) */
uint64_t _hz3_now_ns(void);                     /* monotonic */
uint64_t _hz3_wall_ms(void);                    /* ms since 1970 */

/* ---- meta.c ---- */
void *_hz3_meta_alloc(size_t size);             /* zeroed, 64-aligned; NULL when out of memory */
size_t _hz3_meta_bytes(void);                  /* mapped */
size_t _hz3_meta_resident(void);
size_t _hz3_meta_mappings(uint64_t *out, size_t max_pairs);  /* returns the total count */
void _hz3_meta_lock(void);
void _hz3_meta_unlock(void);
void _hz3_meta_after_fork_child(void);

/* ---- segment.c, pool.c, pool_index.c: the page pool (one lock; pool.h) ---- */
extern uint64_t _hz3_segmap[HZ3_SEGMAP_BITS / 64];
static inline bool _hz3_is_segment(uintptr_t p)
{
    uintptr_t i = p >> HZ3_SEG_SHIFT;
    if (HZ3_UNLIKELY(i >= HZ3_SEGMAP_BITS)) return false;
    return (__atomic_load_n(&_hz3_segmap[i >> 6], __ATOMIC_RELAXED) >> (i & 63)) & 1;
}
/* The segment slots, for free's fast path (hz3_hot.h): slot k holds the end
 * (address + 1 MiB) of an active segment whose number is k mod 2^16, or of
 * none. Its bounds test is one compare, p - end >= -HZ3_SEG_BLOCK_BYTES,
 * which no pointer passes for an empty slot (0) but one in the last MiB
 * of the address space (kernel space), whose slot is the last: an empty
 * last slot therefore holds the end of segment 0 (passed only by pointers
 * of slot 0) from the library's initialisation on (_hz3_seg_slots_init).
 * Two active segments with one slot (64 GiB apart) keep the first; the
 * other's frees take _hz3_free_unslotted (the segment map): 55
 * instructions to ret for a local free, about what every one took before
 * the slots. */
#ifndef HZ3_SEG_SLOT_BITS
#define HZ3_SEG_SLOT_BITS 16   /* a test build may lower it, to make segments share slots */
#endif
#define HZ3_SEG_SLOTS ((size_t)1 << HZ3_SEG_SLOT_BITS)
#define HZ3_SEG_BLOCK_BYTES ((uintptr_t)HZ3_SEG_USABLE_PAGES << HZ3_PAGE_SHIFT)
extern uintptr_t _hz3_seg_ends[HZ3_SEG_SLOTS];
static inline unsigned _hz3_seg_slot(uintptr_t p) { return (unsigned)((p >> HZ3_SEG_SHIFT) & (HZ3_SEG_SLOTS - 1)); }
void _hz3_seg_slots_init(void);
void _hz3_free_unslotted(void *p, const void *caller);   /* free_unslotted.c */
static inline hz3_segment_t *_hz3_segment_of(const void *p)
{
    return (hz3_segment_t *)((uintptr_t)p & ~(uintptr_t)HZ3_SEG_MASK);
}
static inline uint8_t *_hz3_span_start(const hz3_span_t *s)
{
    hz3_segment_t *seg = _hz3_segment_of(s);
    return (uint8_t *)seg + ((size_t)(s - seg->spans) << HZ3_PAGE_SHIFT);
}
typedef struct hz3_reservation {
    struct hz3_reservation *next;
    uintptr_t base;
    uint32_t nsegs;          /* <= 64 */
    uint64_t used;           /* bit i: segment slot i is active */
    uint64_t claimed;        /* bit i: slot i is being made a segment (pool.h) */
} hz3_reservation_t;
typedef struct hz3_census_cursor {
    hz3_reservation_t *res;
    unsigned slot;
    bool started;
    uint64_t changes_at_start;   /* _hz3_pool_changes() when the first step began */
} hz3_census_cursor_t;
hz3_span_t *_hz3_pool_take(unsigned cls, hz3_heap_t *owner); /* a new span of the class, owned */
hz3_span_t *_hz3_pool_take_pages(unsigned cls, unsigned pages, hz3_heap_t *owner);
void _hz3_pool_reclass(hz3_span_t *s, unsigned cls, hz3_heap_t *owner);   /* an empty span of the owner's, made one of cls */
void _hz3_pool_give(hz3_span_t *s);             /* its pages go back to the segment */
void _hz3_pool_purge(uint64_t now_ms, uint64_t delay_ms, struct hz3_epoch_info *info);
void _hz3_pool_release_whole(struct hz3_epoch_info *info);   /* all wholly free segments but HZ3_FREE_SEGS_KEEP */
/* Pages that changed hands so far, counted under the pool lock: pages of
 * spans taken or given back, resident free pages of segments released
 * (not decommits: see "Consistency" in include/hz3.h). */
uint64_t _hz3_pool_changes(void);
/* Visits up to budget active segments from the cursor, under the pool lock;
 * true when the cursor has passed the last one. */
bool _hz3_pool_census_step(hz3_census_cursor_t *cur, uint64_t budget, void (*visit)(hz3_segment_t *, void *),
                           void *arg);
void _hz3_pool_lock(void);
void _hz3_pool_unlock(void);
void _hz3_pool_after_fork_child(void);
void _hz3_pool_stats(struct hz3_stats *st);
size_t _hz3_pool_mappings(uint64_t *out, size_t max_pairs);
bool _hz3_pool_owns(uintptr_t p);
unsigned _hz3_pool_index_errors(hz3_segment_t *seg);   /* pool lock held: free runs missing from the index */

/* ---- sample.c (the rest in sample.h) ---- */
extern _Atomic uint64_t _hz3_sample_mean;      /* mean bytes between samples; 0: off */

/* ---- span.c: spans of a heap ---- */
extern hz3_span_t _hz3_span_sentinel;   /* no free block, no owner: forces the slow path */
void *_hz3_span_alloc_slow(hz3_heap_t *h, unsigned cls, size_t size);  /* size: as asked (sampling) */
void *_hz3_span_alloc_held(hz3_heap_t *h, unsigned cls, size_t size);  /* the same, h->lock held; unlocks */
/* Sampling on: pops the current span's free list, just refilled from
 * local_free without the slow path, and cuts it at the next sample. */
void *_hz3_span_pop_sampled(hz3_heap_t *h, hz3_span_t *s, unsigned cls, size_t size, uint64_t mean);
void _hz3_free_local_slow(hz3_heap_t *h, hz3_span_t *s);
void _hz3_free_remote(hz3_span_t *s, hz3_block_t *b);   /* checked already; batched */
/* ---- single.c: medium objects one per span ---- */
void *_hz3_single_take(hz3_span_t *s);
void *_hz3_single_alloc(hz3_heap_t *h, unsigned cls, size_t size);   /* errno set when NULL */
void _hz3_single_keep(hz3_heap_t *h, hz3_span_t *s);                 /* h->lock held */
void _hz3_single_free_local(hz3_heap_t *h, hz3_span_t *s);           /* the owner's free emptied s */
void _hz3_single_exclude(hz3_heap_t *h);     /* another thread holding h->lock: waits out the owner's cache hit */
void _hz3_single_after_fork_child(void);
void _hz3_single_free_remote(hz3_span_t *s, hz3_block_t *b);
void _hz3_single_uncache(hz3_heap_t *h, hz3_block_t *chain, bool locked);  /* bcache.c's flush of singles */
bool _hz3_single_abandon(hz3_span_t *s);                             /* span_return.c: false when the class's list is full */
hz3_span_t *_hz3_single_unabandon(hz3_heap_t *h, unsigned cls);     /* span_return.c: h->lock held; NULL when none */
void _hz3_span_push_remote(hz3_span_t *s, hz3_block_t *head, hz3_block_t *tail, unsigned n);
/* True when b is on the span's local free list, its thread_free list or in
 * some thread's remote batch. Exact for the owner (and an abandoned span)
 * and in the caller's own batch; another thread's walk is bounded and only
 * follows pointers to blocks of the span, so it is memory-safe, but it may
 * miss b while the owner pops concurrently. */
bool _hz3_span_has_free(hz3_span_t *s, const hz3_block_t *b);
void _hz3_heap_drain_delayed(hz3_heap_t *h);
/* span_return.c */
hz3_span_t *_hz3_abandoned_adopt(hz3_heap_t *h, unsigned cls);   /* h's now, on no list; NULL when none */
void _hz3_heap_release_all(hz3_heap_t *h);      /* thread exit: give back or abandon */
uint64_t _hz3_abandoned_reclaim(void);           /* give back abandoned spans now empty */
void _hz3_heap_decay(hz3_heap_t *h);            /* owner: give back what the heap keeps empty */
uint64_t _hz3_heap_give_empty(hz3_heap_t *h);   /* any thread, h->lock held: give back empty non-current spans */
bool _hz3_span_purgeable(const hz3_span_t *s, unsigned live); /* what a purge from any thread takes */
extern _Atomic uint64_t _hz3_decay_gen;         /* bumped by timer epochs */
void _hz3_abandoned_lock(void);
void _hz3_abandoned_unlock(void);
void _hz3_abandoned_after_fork_child(void);

/* ---- remote.c: batches of frees for other threads' spans ---- */
/* The free fast path's remote half, for p in a segment, in a span this
 * thread does not own (t its page tag): a valid block goes into the
 * thread's block cache of its class or its batch; the
 * rest (bad pointers, double frees, capacity-1 spans) to
 * _hz3_free_generic, naming caller. */
void _hz3_free_remote_fast(void *p, uint32_t t, const void *caller);   /* t: p's page tag */
void _hz3_remote_batch_add(hz3_heap_t *h, hz3_span_t *s, hz3_block_t *b);  /* b checked */
void _hz3_remote_flush(hz3_heap_t *h);          /* owner: the block caches into the batch, every group pushed */
void _hz3_remote_batch_flush(hz3_heap_t *h);    /* owner: every group pushed, the block caches kept */
/* The owner, on its allocation slow paths: the batch's age is counted in
 * them (reading a clock there cost more than the batching saved). The
 * block caches stay: they go home on epochs and decay (bcache.c), and
 * emptying them here sent larson's cached blocks to their owners every
 * 64 slow paths, to be armed and filled again. */
static inline void _hz3_remote_flush_if_old(hz3_heap_t *h)
{
    if (HZ3_UNLIKELY(h->remote.blocks != 0) && ++h->remote.age >= HZ3_REMOTE_BATCH_AGE) _hz3_remote_batch_flush(h);
}
bool _hz3_remote_batch_has(const hz3_heap_t *h, const hz3_span_t *s, const hz3_block_t *b);

/* ---- bcache.c: per-thread caches of freed blocks (hz3_types.h) ---- */
/* A block for a class whose cache is full (b checked, s its span): the
 * older half goes to the remote batch, b into the cache. */
void _hz3_bcache_overflow(hz3_heap_t *h, hz3_bcache_t *bc, hz3_span_t *s, hz3_block_t *b);
void _hz3_bcache_flush_all(hz3_heap_t *h);      /* owner: every cached block to the batch; limits back to 0 */
void _hz3_bcache_flush_all_locked(hz3_heap_t *h);   /* the same, h->lock held (singles go back under it) */
void _hz3_bcache_arm(hz3_heap_t *h, unsigned cls);   /* a slow path of the class: let it cache */
/* How many blocks the cache may hold: 0 while sampling is on (bcache.c). */
static inline uint16_t _hz3_bcache_limit(const hz3_bcache_t *bc) { return __atomic_load_n(&bc->limit, __ATOMIC_RELAXED); }
bool _hz3_bcache_has(const hz3_heap_t *h, unsigned cls, const hz3_block_t *b);
/* ---- heap.c: thread heaps ---- */
/* The heap lock: a spin lock, since its owner takes it on every slow path
 * (one exchange when free, as cheap as a lock can be) and another thread
 * only for a purge; a waiter spins briefly, then yields. */
void _hz3_heap_lock_wait(hz3_heap_t *h);
static inline void _hz3_heap_lock(hz3_heap_t *h)
{
    if (HZ3_LIKELY(!atomic_exchange_explicit(&h->lock, 1, memory_order_acquire))) return;
    _hz3_heap_lock_wait(h);
}
static inline void _hz3_heap_unlock(hz3_heap_t *h) { atomic_store_explicit(&h->lock, 0, memory_order_release); }
extern hz3_heap_t _hz3_heap_empty;
/* The thread's heap and its tag_self (free's owner compare) in one TLS
 * record: a shared library reaches initial-exec TLS through a GOT entry
 * holding the variable's offset, so one record is one such load where the
 * two variables were two (free reads both). */
typedef struct hz3_tl {
    hz3_heap_t *heap;
    uint16_t tag_self;   /* heap->tag_self */
} hz3_tl_t;
extern HZ3_TLS hz3_tl_t _hz3_tl;
#define _hz3_tl_heap (_hz3_tl.heap)
#define _hz3_tl_tag_self (_hz3_tl.tag_self)
hz3_heap_t *_hz3_heap_init_thread(void);        /* NULL when out of memory */
hz3_heap_t *_hz3_heap_for_remote(void);         /* a heap for a thread that has none; NULL once it ended */
hz3_span_t *_hz3_heap_take_span(hz3_heap_t *h, unsigned cls); /* a new span of the class from the pool, sized by h's use */
void _hz3_heap_register_key(void);
void _hz3_heaps_lock(void);
void _hz3_heaps_unlock(void);
void _hz3_heaps_after_fork_child(void);
void _hz3_heaps_stats(struct hz3_stats *st);
uint64_t _hz3_heaps_give_empty(void);           /* every live heap's; returns spans given back */
bool _hz3_heaps_remote_has(const hz3_span_t *s, const hz3_block_t *b); /* in any live heap's remote batch or block cache */
void _hz3_heaps_cached(uint64_t per_class[HZ3_MAX_CLASSES]);  /* adds every live heap's cached blocks per class */
void _hz3_heaps_bcache_disarm(void);   /* sampling turned on: every heap's block caches take no more frees */

/* ---- run.c ---- */
void *_hz3_run_alloc(size_t size, bool zero);    /* HZ3_MEDIUM_MAX < size <= HZ3_RUN_MAX */
static inline size_t _hz3_run_usable(const hz3_span_t *s) { return (size_t)s->pages << HZ3_PAGE_SHIFT; }

/* ---- large.c ---- */
void *_hz3_large_alloc(size_t size, size_t align, bool zero);
bool _hz3_large_free(void *p);                  /* false: not a large object of ours */
size_t _hz3_large_usable(const void *p);        /* 0: not a large object of ours */
void *_hz3_large_realloc(void *p, size_t size); /* NULL: caller falls back */
void _hz3_large_purge(uint64_t now_ms, uint64_t delay_ms, struct hz3_epoch_info *info);
size_t _hz3_large_resident(void);               /* resident bytes of live and cached mappings */
void _hz3_large_lock(void);
void _hz3_large_unlock(void);
void _hz3_large_after_fork_child(void);
void _hz3_large_stats(struct hz3_stats *st);
size_t _hz3_large_mappings(uint64_t *out, size_t max_pairs);
bool _hz3_large_owns(uintptr_t p);

/* ---- error.c ---- */
enum hz3_bad {
    HZ3_BAD_FOREIGN,     /* not inside any hz3 mapping */
    HZ3_BAD_INTERIOR,    /* inside an object, not at its start */
    HZ3_BAD_NOT_LIVE,    /* inside hz3 memory that holds no object */
    HZ3_BAD_DOUBLE_FREE, /* the object is free already */
};
/* Reports one line naming pointer, problem and caller; aborts unless
 * HZ3_ON_ERROR=warn, in which case the caller ignores the pointer. */
HZ3_COLD void _hz3_bad_pointer(const char *fn, const void *p, enum hz3_bad what, const void *caller);
void _hz3_write_str(int fd, const char *s);
char *_hz3_fmt_u64(char *buf, uint64_t v);      /* returns end of digits */
char *_hz3_fmt_hex(char *buf, uint64_t v);
/* Writes s between single quotes into [buf, end), control characters, quotes
 * and backslashes escaped, at most max bytes of s (then "...(N bytes, cut)");
 * returns the end, NUL-terminated. A user's string echoed this way is one
 * line of bounded length, whatever it holds. */
char *_hz3_fmt_quoted(char *buf, char *end, const char *s, size_t max);
/* Runs, capacity-1 spans given back and large mappings are remembered when
 * freed (the last HZ3_FREED_RING), so that freeing one again is named a
 * double free rather than a pointer hz3 never handed out. */
void _hz3_freed_note(const void *p);
bool _hz3_freed_recently(const void *p);

/* ---- init.c ---- */
extern _Atomic int _hz3_initialized;
void _hz3_init_slow(void);
static inline void _hz3_ensure_init(void)
{
    if (HZ3_UNLIKELY(!atomic_load_explicit(&_hz3_initialized, memory_order_acquire))) _hz3_init_slow();
}
/* The free key (double frees). A freed block carries _hz3_free_key (random
 * per process, never 0) in its second word, and every path that hands a
 * block out clears it, as glibc's tcache does. A free that finds the key goes to _hz3_free_generic, which
 * confirms on the span's lists (_hz3_span_has_free): user data equal to the
 * key is freed normally. Runs and large objects are not keyed: their
 * double frees are found by _hz3_freed_recently. */
extern uintptr_t _hz3_free_key;
static inline void _hz3_key_set(hz3_block_t *b) { if (HZ3_FREE_CHECKS) b->key = _hz3_free_key; }
static inline void _hz3_key_clear(hz3_block_t *b) { if (HZ3_FREE_CHECKS) b->key = 0; }
static inline bool _hz3_key_found(const hz3_block_t *b) { return HZ3_FREE_CHECKS && b->key == _hz3_free_key; }

/* ---- epoch.c ---- */
typedef struct hz3_config {
    uint64_t scan_seg_budget;     /* HZ3_SCAN_SEG_BUDGET: census segments per epoch; 0: no sweeps */
    uint64_t purge_delay_ms;      /* HZ3_PURGE_DELAY_MS: free this long before decommit */
    uint64_t epoch_interval_ms;   /* HZ3_EPOCH_INTERVAL_MS: timer epochs; 0: no maintenance thread */
    uint64_t snapshot_min_ms;     /* HZ3_SNAPSHOT_MIN_MS: at most one snapshot to the listener per this */
} hz3_config_t;
extern hz3_config_t _hz3_cfg;
typedef struct hz3_epoch_totals {
    uint64_t epochs, purging_epochs, pages_purged, madvise_calls, segments_unmapped, spans_reclaimed, last_seq;
} hz3_epoch_totals_t;
void _hz3_epoch_totals(hz3_epoch_totals_t *out);
uint64_t _hz3_purged_pages_total(void);
int _hz3_set_listener(hz3_listener_fn fn, void *ctx);
void _hz3_epoch_tick(void);                     /* slow paths: maybe run an epoch */
uint64_t _hz3_epoch_run(enum hz3_epoch_reason reason, struct hz3_snapshot *full);
void _hz3_epoch_lock(void);
void _hz3_epoch_unlock(void);
void _hz3_epoch_after_fork_child(void);
/* ---- watch.c ---- */
void _hz3_watch_lock(void);
void _hz3_watch_unlock(void);
void _hz3_watch_after_fork_child(void);

/* ---- census.c ---- */
void _hz3_census_begin(struct hz3_snapshot *snap, uint64_t seq, bool exact);
void _hz3_census_visit(hz3_segment_t *seg, void *snap);  /* under the pool lock */
void _hz3_census_finish(struct hz3_snapshot *snap, uint64_t seq, const hz3_census_cursor_t *cur);
void _hz3_span_counts(hz3_span_t *s, unsigned *used, unsigned *remote);   /* under the seqlock */

/* ---- validate.c ---- */
uint64_t _hz3_validate_segments(void);          /* violations, each printed */

/* ---- report.c ---- */
void _hz3_report_at_exit(void);
size_t _hz3_report_format(const struct hz3_snapshot *s, char *buf, size_t size, const char *taken);

/* ---- alloc.c ---- */
void *_hz3_malloc_generic(size_t size, bool zero);
void _hz3_free_generic(void *p, const void *caller, const char *fn);
size_t _hz3_usable_size(const void *p, const void *caller, const char *fn);

/* ---- small helpers ---- */
/* used is written by the owner only, and read by the census and by a
 * purging thread: release stores and plain loads, which compile to plain
 * moves. A purge that reads used with acquire and finds the span empty
 * sees every write the owner made to it before (its free list).
 *
 * While a span is on its owner's full list, used is stored less
 * _hz3_used_bias (capacity - the class's rejoin), so that the local free's
 * one decrement-and-test (_hz3_used_dec) fires where the span is due back
 * on avail (its free blocks reach rejoin) and not at every free into it,
 * as a flag in the word did; off the full list the test fires at empty.
 * Every reader of the count goes through _hz3_used_get or
 * _hz3_used_acquire, which add the bias back when where says full; the
 * bias comes and goes only with where, in _hz3_where_set, by the owner
 * under its heap lock (or under the pool lock for a span given back).
 * A reader with that lock or the owner sees the two agree; the census
 * and the invariant walker read them under the span's seqlock, which
 * _hz3_where_set holds odd while it changes both. */
/* The free blocks at which a full span rejoins avail: its class's rejoin,
 * or, for a span shorter than its class's (heap.c starts a thread's medium
 * spans small), the same quarter of its own capacity, so that the bias
 * below never exceeds the blocks it has. */
static inline unsigned _hz3_span_rejoin(const hz3_span_t *s)
{
    const hz3_class_t *c = &_hz3_classes[s->cls];
    if (s->capacity == c->capacity) return c->rejoin;
    unsigned r = (unsigned)s->capacity >> HZ3_REJOIN_SHIFT;
    return r < 1 ? 1 : r > HZ3_REJOIN_MAX ? HZ3_REJOIN_MAX : r;
}
static inline unsigned _hz3_used_bias(const hz3_span_t *s)
{
    return (unsigned)s->capacity - _hz3_span_rejoin(s);
}
static inline unsigned _hz3_used_unbias(const hz3_span_t *s, unsigned where, unsigned stored)
{
    return (uint16_t)(stored + (where == HZ3_WHERE_FULL ? _hz3_used_bias(s) : 0));
}
static inline unsigned _hz3_used_get(const hz3_span_t *s)
{
    return _hz3_used_unbias(s, __atomic_load_n(&s->where, __ATOMIC_RELAXED), __atomic_load_n(&s->used, __ATOMIC_RELAXED));
}
/* where first: both with acquire, so that inside the census's seqlock
 * window (census.c, _hz3_span_counts) a value the owner stored after
 * making seq odd (_hz3_where_set below) shows in the second read of seq */
static inline unsigned _hz3_used_acquire(const hz3_span_t *s)
{
    unsigned where = __atomic_load_n(&s->where, __ATOMIC_ACQUIRE);
    return _hz3_used_unbias(s, where, __atomic_load_n(&s->used, __ATOMIC_ACQUIRE));
}
static inline void _hz3_used_set(hz3_span_t *s, unsigned v)
{
    unsigned bias = __atomic_load_n(&s->where, __ATOMIC_RELAXED) == HZ3_WHERE_FULL ? _hz3_used_bias(s) : 0;
    __atomic_store_n(&s->used, (uint16_t)(v - bias), __ATOMIC_RELEASE);
}
/* The count less n (n <= count), one load and one store: the bias stays. */
static inline void _hz3_used_sub(hz3_span_t *s, unsigned n)
{
    __atomic_store_n(&s->used, (uint16_t)(__atomic_load_n(&s->used, __ATOMIC_RELAXED) - n), __ATOMIC_RELEASE);
}
/* The fast paths' change of used by one, each a single instruction on
 * memory (addw/subw) where the load, add and release store above take
 * four: only the owner writes used, so a read-modify-write that is not
 * locked is atomic enough (its store is one aligned 16-bit move, which
 * x86-64 orders after every earlier store, as a release store), and the
 * memory clobber keeps the compiler from moving the list writes before
 * it past it. Under ThreadSanitizer, which cannot see inside asm, and
 * elsewhere: the plain atomics. _hz3_used_dec returns true when the
 * stored word reached 0 or below as a 16-bit number: the span is empty,
 * or full with rejoin blocks freed into it (a span goes on full with no
 * free block its owner knows of, used == capacity, stored as rejoin). */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
static inline void _hz3_used_inc(hz3_span_t *s)
{
    __asm__ volatile("addw $1, %0" : "+m"(*(uint16_t *)&s->used) : : "memory", "cc");
}
static inline bool _hz3_used_dec(hz3_span_t *s)
{
    bool le;
    __asm__ volatile("subw $1, %0" : "+m"(*(uint16_t *)&s->used), "=@ccle"(le) : : "memory");
    return le;
}
#else
static inline void _hz3_used_inc(hz3_span_t *s)
{
    __atomic_store_n(&s->used, (uint16_t)(__atomic_load_n(&s->used, __ATOMIC_RELAXED) + 1), __ATOMIC_RELEASE);
}
static inline bool _hz3_used_dec(hz3_span_t *s)
{
    uint16_t w = (uint16_t)(__atomic_load_n(&s->used, __ATOMIC_RELAXED) - 1);
    __atomic_store_n(&s->used, w, __ATOMIC_RELEASE);
    return (int16_t)w <= 0;
}
#endif
/* where is written by the owner (or a purging thread, both under the heap
 * lock) and read by the census under the pool lock: relaxed atomics. On
 * the owner's way onto and off the full list, used takes its bias or
 * gives it back in the same step, with seq odd meanwhile (the census's
 * seqlock, span_state.h's collect): only the owner, under its heap lock,
 * writes seq and moves a live span on or off full, so the two never
 * race (_hz3_pool_take writes it too, for a span nobody else holds). Release stores: a reader that sees either new value sees seq odd
 * after it (_hz3_used_acquire). */
static inline unsigned _hz3_where_get(const hz3_span_t *s) { return __atomic_load_n(&s->where, __ATOMIC_RELAXED); }
static inline void _hz3_where_set(hz3_span_t *s, unsigned v)
{
    unsigned old = __atomic_load_n(&s->where, __ATOMIC_RELAXED);
    if ((old == HZ3_WHERE_FULL) == (v == HZ3_WHERE_FULL)) {
        __atomic_store_n(&s->where, (uint8_t)v, __ATOMIC_RELAXED);
        return;
    }
    unsigned bias = v == HZ3_WHERE_FULL ? -_hz3_used_bias(s) : _hz3_used_bias(s);
    uint16_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, (uint16_t)(seq + 1), memory_order_relaxed);
    __atomic_store_n(&s->where, (uint8_t)v, __ATOMIC_RELEASE);
    __atomic_store_n(&s->used, (uint16_t)(__atomic_load_n(&s->used, __ATOMIC_RELAXED) + bias), __ATOMIC_RELEASE);
    atomic_store_explicit(&s->seq, (uint16_t)(seq + 2), memory_order_release);
}
/* The header page that holds the span entry of page i (entries are 64-aligned). */
static inline unsigned _hz3_entry_page(unsigned i)
{
    return (unsigned)((offsetof(hz3_segment_t, spans) + (size_t)i * sizeof(hz3_span_t)) >> HZ3_PAGE_SHIFT);
}
static inline bool _hz3_entry_written(const hz3_segment_t *seg, unsigned i)
{
    return (seg->header_written >> _hz3_entry_page(i)) & 1;
}
/* The page tags of a span's pages (hz3_types.h, "Page tags"). Whole
 * words are stored only under the pool lock, while nobody else writes
 * them; owner changes and sample marks are atomic or/and, like the
 * entry's owner word they mirror. */
static inline uint32_t *_hz3_tags_of(const hz3_span_t *s)
{
    hz3_segment_t *seg = _hz3_segment_of(s);
    return &seg->tag[s - seg->spans];
}
static inline void _hz3_tags_store(hz3_span_t *s, unsigned pages, uint32_t t)
{
    uint32_t *tag = _hz3_tags_of(s);
    for (unsigned i = 0; i < pages; i++) __atomic_store_n(&tag[i], t, __ATOMIC_RELAXED);
}
static inline void _hz3_tags_or(hz3_span_t *s, uint32_t bits)
{
    uint32_t *tag = _hz3_tags_of(s);
    for (unsigned i = 0; i < s->pages; i++) __atomic_fetch_or(&tag[i], bits, __ATOMIC_RELEASE);
}
static inline void _hz3_tags_and(hz3_span_t *s, uint32_t mask)
{
    uint32_t *tag = _hz3_tags_of(s);
    for (unsigned i = 0; i < s->pages; i++) __atomic_fetch_and(&tag[i], mask, __ATOMIC_RELEASE);
}
static inline unsigned _hz3_tag_owner(const hz3_heap_t *h) { return h ? h->tag_owner : 0; }
/* Classes carved a few blocks at a time (span.c, extend), whose pages are
 * tagged HZ3_CLASS_REFUSE until carved (hz3_types.h, "Page tags"). */
static inline bool _hz3_class_lazy(const hz3_class_t *c)
{
    return c->tier == HZ3_TIER_SUB4K ||
           (HZ3_MEDIUM_EXTEND && c->tier == HZ3_TIER_MEDIUM && c->capacity > HZ3_MEDIUM_EXTEND);
}
/* The pages at the start of s (of a lazily carved class) that carry its
 * class in their tags once `extended` blocks are carved: those on which
 * every offset the class's bound lets through (a multiple of the size
 * below the class's capacity) is a carved block's start. The rest stay
 * HZ3_CLASS_REFUSE (extend carves to a page's end: no carved block starts
 * on them). */
static inline unsigned _hz3_pages_carved(const hz3_span_t *s, unsigned extended)
{
    const hz3_class_t *c = &_hz3_classes[s->cls];
    if (extended >= c->capacity) return s->pages;
    size_t p = ((size_t)extended * c->size) >> HZ3_PAGE_SHIFT;
    return p < s->pages ? (unsigned)p : s->pages;
}
static inline size_t _hz3_align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }
static inline void _hz3_list_push_front(hz3_span_list_t *l, hz3_span_t *s)
{
    s->prev = NULL;
    s->next = l->first;
    if (l->first) l->first->prev = s; else l->last = s;
    l->first = s;
}
static inline void _hz3_list_push_back(hz3_span_list_t *l, hz3_span_t *s)
{
    s->next = NULL;
    s->prev = l->last;
    if (l->last) l->last->next = s; else l->first = s;
    l->last = s;
}
static inline void _hz3_list_remove(hz3_span_list_t *l, hz3_span_t *s)
{
    if (s->prev) s->prev->next = s->next; else l->first = s->next;
    if (s->next) s->next->prev = s->prev; else l->last = s->prev;
    s->next = s->prev = NULL;
}

#pragma GCC visibility pop
#endif /* HZ3_INTERNAL_H */
