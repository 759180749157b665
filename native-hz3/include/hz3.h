/*
 * hz3.h: the public interface of libhz3.so beyond the malloc family.
 *
 * libhz3 is a malloc used by preloading (LD_PRELOAD). Everything here is
 * callable from C, and from Java through JNA once hz3 is the process's
 * malloc. Names exported by the library are exactly the malloc family and
 * the hz3_* functions below (a test checks `nm -D`).
 *
 * Keep in sync with: jfr-events (event names and fields mirror the structs
 * below) and native-hz3/hz3.map (the export list).
 */
#ifndef HZ3_H
#define HZ3_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HZ3_VERSION_MAJOR 0
#define HZ3_VERSION_MINOR 1
#define HZ3_VERSION_PATCH 0
#define HZ3_VERSION_STRING "0.1.0"

/* "MAJOR.MINOR.PATCH" of the loaded library (may differ from the header). */
const char *hz3_version(void);

/* Tiers, as used in reports: small (objects up to 1 KiB in spans of 1-4
 * pages), sub4k (1-3.5 KiB in spans of up to 8 pages), medium (3.5-32 KiB:
 * up to 16 KiB, 8-16 objects to a span of 16-32 pages (fewer in the first
 * spans of a thread that follows one that used few); above, one object
 * to a span of its page count), large (above: up to 1004 KiB a run
 * of its own page count inside a segment, beyond that an extent of pages of
 * its own outside segments). A freed object of the first three tiers stays
 * in its span for the next malloc of its class: it is not live, and its
 * pages count in the span's state (partial, or empty once the span holds no
 * live object; a thread keeps up to 1 MiB of empty one-object medium
 * spans, counted empty, for its next mallocs, and up to 512 KiB of them per
 * class in its block cache, counted empty and held: see the census below).
 * hz3 carves a medium span one
 * object at a time, so it writes no page of the span that no object has
 * reached yet. A freed large extent
 * stays resident for reuse (large_cached, large_cached_bytes), at most
 * max(64 MiB, half the live large bytes, or what the live large bytes fell
 * from their recent peak while they are written through: docs/observation.md)
 * of them, and is decommitted once
 * it stayed unused for purge_delay_ms, or by a purge: its pages go back
 * to the kernel, its address space stays hz3's for the next large objects
 * but is no longer counted (not in hz3_mappings, not hz3_owns). */
enum hz3_tier { HZ3_TIER_SMALL = 0, HZ3_TIER_SUB4K = 1, HZ3_TIER_MEDIUM = 2, HZ3_TIER_LARGE = 3 };

/* Totals of the allocator, cheap enough to call at any time (one walk over
 * segment headers under the pool lock; no thread is stopped). */
struct hz3_stats {
    uint32_t size;              /* sizeof(struct hz3_stats), set by the caller */
    uint32_t version;           /* HZ3_STATS_VERSION */
    uint64_t reservations;      /* address-space reservations made so far */
    uint64_t reserved_bytes;    /* their total size (virtual) */
    uint64_t segments_active;   /* segments holding spans or free pages */
    uint64_t segments_free;     /* segment slots returned (decommitted, VA kept) */
    uint64_t segment_bytes;     /* segments_active x segment size */
    uint64_t span_pages;        /* pages handed to spans (small/sub4k/medium) */
    uint64_t free_pages;        /* pages free inside active segments */
    uint64_t large_count;       /* live large objects (above 1004 KiB) */
    uint64_t large_bytes;       /* the bytes of their extents */
    uint64_t large_cached;      /* freed large extents kept for reuse */
    uint64_t large_cached_bytes; /* their bytes (resident as far as they were written) */
    uint64_t heaps_live;        /* thread heaps in use */
    uint64_t heaps_created;     /* heap structs ever created (reused after thread exit) */
    uint64_t threads_exited;    /* thread heaps given back at thread exit */
    uint64_t meta_bytes;        /* allocator metadata outside segments */
    uint64_t epochs;            /* epochs run so far */
    uint64_t pages_purged;      /* pages decommitted by epochs */
    uint64_t madvise_calls;     /* MADV_DONTNEED calls they made */
    uint64_t segments_unmapped; /* wholly free segments given back */
};
#define HZ3_STATS_VERSION 1

/* Fills *out (out->size must be set). Returns 0, or -1 if out->size is too small. */
int hz3_stats_get(struct hz3_stats *out);

/* Every mapping hz3 owns, as [start, end) pairs: segment reservations and
 * large-object mappings. Fills at most max_pairs pairs into start_end
 * (2 x max_pairs words) and returns the total number of mappings. */
size_t hz3_mappings(uint64_t *start_end, size_t max_pairs);

/* 1 if p lies inside one of hz3's mappings, else 0. */
int hz3_owns(const void *p);


/* ==== Observation: the S135 fragmentation census ====
 *
 * Every 4 KiB page that hz3 holds in a segment is counted in exactly one
 * state, tested in this order:
 *   untouched    not resident, never decommitted since its segment was mapped
 *   decommitted  not resident, decommitted (MADV_DONTNEED) since
 *   empty        resident, its span holds no live object (or no span at all)
 *   full         resident, live objects == capacity
 *   partial      resident, the rest
 * A span of several pages counts each page in the span's state (occupancy is
 * the span's live / capacity). Residency is read from the kernel (mincore).
 * Per tier, pages_total = untouched + decommitted + empty + full + partial.
 *
 * Occupancy buckets count resident pages in use by live / capacity:
 *   occ_0 = empty pages, occ_1_25 = (0, 25%], occ_25_50 = (25%, 50%],
 *   occ_50_75 = (50%, 75%], occ_75_100 = (75%, 100%] (full pages included),
 * so occ_0 + ... + occ_75_100 = empty + partial + full.
 *
 * "Live" means handed to the application and not yet freed: an object on a
 * free list or in a queue of remote frees is not live. One exception: an
 * object freed by a thread other than the one that allocates from its
 * span waits in that thread's small remote batch (at most 64 objects per
 * thread, pushed to the span with one atomic per span) and counts as live
 * until pushed. A thread pushes its batch when it fills, on its allocation
 * slow paths once it is old, when the thread ends, and before any census,
 * snapshot or purge that thread takes itself; a thread that stays idle
 * keeps its batch (and the spans its objects are in) until it runs again.
 * A freed object in a thread's block cache (a thread keeps some objects of
 * every class it allocates, freed by it or by other threads, for its own
 * next mallocs: about 32 KiB a small or sub4k class, 128 KiB a medium
 * class up to 16 KiB, 512 KiB a class of singles, the medium objects of
 * 20-32 KiB that have a span each) is not live: live_objects and
 * live_bytes leave it out. An object of a class up to 16 KiB stays in its
 * span, so its pages count in the state of its span as if it were live
 * (partial or full, never empty), held by that thread. A single's span
 * holds no live object while the single is cached: its pages are empty
 * pages held by that thread (in held_empty_pages, not in
 * cand_decommit_pages), and no purge from another thread returns them.
 * Either way a span is a purge candidate only once its cached objects went
 * back, which they do when the thread ends, before a census, snapshot or
 * purge that thread takes itself, and on its first allocation slow path
 * after a timer epoch or a purge (a single then goes back as the thread's
 * own free of it would, below).
 *
 * Tiers: small, sub4k and medium hold the pages of spans of their classes;
 * large holds the pages of runs (large objects inside segments, no class);
 * the census adds HZ3_TIER_FREE for segment pages that are in no span.
 * Large objects in extents of their own are counted as objects and bytes
 * (large_count, large_bytes); large_resident_bytes is the resident part of
 * their extents and of the cached free extents, each page once.
 *
 * What a purge returns: hz3_purge_now() or malloc_trim() on any thread
 * decommits, per tier, cand_decommit_pages, plus cand_header_pages (headers
 * of segments it releases whole): those are the resident empty pages of
 * free segment pages, of empty spans on any thread's lists (kept by it, or
 * emptied by other threads' frees), and of spans of ended threads. It
 * leaves held_empty_pages: empty pages of the span each thread allocates
 * from right now (its current span per class) and the singles in its
 * block cache (above); their own threads give those back on their next
 * slow path or when they end. A freed single that is not in a block cache
 * (past the cache's bound, or given back by its flush) waits for reuse in
 * the cache of empty singles of the thread that freed it (whichever
 * thread made it), or, past that cache's bound, on a list of its class
 * that every thread takes from and every epoch empties: either way its
 * pages are empty pages and purge candidates, not held. Hence, over all
 * tiers, empty = cand_decommit_pages + held_empty_pages. Cached large extents (large_cached_bytes) are
 * decommitted too; their resident pages are in large_resident_bytes.
 *
 * Resident means what the kernel charges to the process (smaps Rss): a
 * page of a segment header that was only ever read maps the kernel's
 * shared zero page, which mincore calls resident and smaps does not; the
 * census counts header pages that hz3 has written, and never reads the
 * others (so it does not map them either).
 *
 * Consistency: an exact census reads every segment under one hold of the
 * page pool's lock; a budgeted sweep reads scan_seg_budget segments per
 * epoch over many epochs, while the program runs. pages_moved counts the
 * segment pages that changed hands while the census ran: pages of spans
 * taken from or given back to the page pool, and of segments released (hz3
 * counts these under the pool lock, off the fast path). A page that moves
 * between two segments' visits may be counted twice or not at all, so page
 * counts are off by at most pages_moved, and live counts by the objects
 * those pages held. `consistent` is 1 when pages_moved is at most 1% of
 * the pages the census counted: a live JVM always mallocs a little in the
 * background, and an exact zero would leave it no consistent sweep. Large
 * mappings are read once, when the census completes, so their coming and
 * going (JFR's buffers in a JVM: thousands of pages a second) cannot be
 * counted twice and is not counted here. A
 * sweep during a burst of allocation (off by +42% on live objects in one
 * measured case) is far above that. It does not promise that nothing moved: live counts change as
 * objects are allocated and freed in spans the census already read (the
 * fast path keeps no counter for it), epochs decommit free pages and
 * programs first touch pages of their spans, so live_objects, occupancy
 * and residency of a consistent sweep are each exact when read, not at
 * one instant. (Decommits are not counted as moves: they move no object
 * and no page between spans, and counting them made every sweep of a
 * quiet program that just freed memory inconsistent.) Compare consistent
 * censuses only. Exact censuses are
 * consistent unless a page or a large mapping changed hands in the moment
 * between the segment pass and reading the totals (they then say so).
 *
 * Keep in sync with: jfr-events (hz3.TierOccupancy, hz3.PartialSizeClass,
 * hz3.Epoch mirror these structs), native-hz3/src/report.c.
 */
#define HZ3_TIER_FREE 4
#define HZ3_CENSUS_TIERS 5      /* indexed by enum hz3_tier plus HZ3_TIER_FREE */
#define HZ3_CENSUS_CLASSES 64   /* room for every size class */
#define HZ3_TOP_N 5

enum hz3_page_state_census {
    HZ3_PS_UNTOUCHED = 0, HZ3_PS_DECOMMITTED = 1, HZ3_PS_EMPTY = 2, HZ3_PS_FULL = 3, HZ3_PS_PARTIAL = 4,
    HZ3_PS_COUNT = 5
};
enum hz3_occupancy { HZ3_OCC_0 = 0, HZ3_OCC_1_25 = 1, HZ3_OCC_25_50 = 2, HZ3_OCC_50_75 = 3, HZ3_OCC_75_100 = 4,
                     HZ3_OCC_COUNT = 5 };

struct hz3_tier_census {
    uint64_t pages_total;
    uint64_t pages[HZ3_PS_COUNT];         /* by enum hz3_page_state_census */
    uint64_t occ[HZ3_OCC_COUNT];          /* by enum hz3_occupancy */
    uint64_t cand_decommit_pages;         /* resident empty pages a purge from any thread returns */
    uint64_t spans;
    uint64_t live_objects;
    uint64_t capacity_objects;
    uint64_t live_bytes;                  /* live objects x class size */
    uint64_t tail_waste_bytes;            /* span bytes no block can use */
};

struct hz3_class_census {
    uint32_t object_size;                 /* 0: class not in use by this build */
    uint16_t span_pages;
    uint16_t tier;
    uint64_t spans;
    uint64_t pages[HZ3_PS_COUNT];
    uint64_t occ[HZ3_OCC_COUNT];
    uint64_t live_objects;
    uint64_t capacity_objects;
    uint64_t tail_waste_bytes;
    uint64_t cand_decommit_pages;
};

struct hz3_snapshot {
    uint32_t size;                        /* sizeof(struct hz3_snapshot), set by the caller */
    uint32_t version;                     /* HZ3_SNAPSHOT_VERSION */
    uint64_t seq_first, seq_last;         /* epoch sequence numbers the sweep spans */
    uint64_t time_ms;                     /* wall clock (ms since 1970) when completed */
    uint32_t exact;                       /* 1: one pass on demand; 0: budgeted sweep over epochs */
    uint32_t num_classes;
    uint64_t segments_scanned;            /* segments the sweep read */
    uint64_t segments_total;              /* active segments when it completed */
    struct hz3_tier_census tier[HZ3_CENSUS_TIERS];
    uint64_t cand_unmap_segs;             /* segments with no live object */
    uint64_t header_resident_bytes;       /* segment headers, resident */
    uint64_t meta_bytes;                  /* records outside segments (heaps, tables) */
    uint64_t large_count, large_bytes, large_resident_bytes;
    uint64_t large_cached, large_cached_bytes;
    uint64_t census_resident_bytes;       /* resident segment pages + headers + meta + large resident */
    uint32_t top_partial_sc[HZ3_TOP_N];   /* class indexes by partial pages; UINT32_MAX: none */
    uint32_t top_tail_waste_sc[HZ3_TOP_N];
    struct hz3_class_census classes[HZ3_CENSUS_CLASSES];
    /* version 2 */
    uint32_t consistent;                  /* 1: at most 1% of the pages counted changed hands meanwhile (above) */
    uint32_t pages_moved;                 /* pages that changed hands while the census ran (saturates) */
    uint64_t held_empty_pages;            /* resident empty pages a purge leaves with their threads */
    uint64_t cand_header_pages;           /* resident header pages of segments a purge releases whole */
};
#define HZ3_SNAPSHOT_VERSION 2

/* An exact census of the whole heap, now, taken by the calling thread (it
 * runs an epoch of reason HZ3_EPOCH_SNAPSHOT, whose number seq_first and
 * seq_last carry). Returns 0, or -1 if out->size is too small. */
int hz3_obs_snapshot(struct hz3_snapshot *out);

/* The same, and this census becomes the one the exit report prints (the
 * last such call wins; without one, the report takes its own census at
 * exit). A JVM agent calls it as its recording ends, so that the recording's
 * last snapshot and the exit report are the same census, with one seq. */
int hz3_obs_snapshot_for_report(struct hz3_snapshot *out);

/* ==== Epochs: the maintenance and observation boundary ==== */
enum hz3_epoch_reason {
    HZ3_EPOCH_SLOW_PATH = 0,   /* an allocation slow path (any tier) */
    HZ3_EPOCH_THREAD_EXIT = 1,
    HZ3_EPOCH_FORCED = 2,      /* hz3_epoch_force() */
    HZ3_EPOCH_TIMER = 3,       /* the background maintenance thread */
    HZ3_EPOCH_PURGE = 4,       /* hz3_purge_now() or malloc_trim() */
    HZ3_EPOCH_SNAPSHOT = 5,    /* hz3_obs_snapshot() */
    HZ3_EPOCH_EXIT = 6,        /* the exit report */
};

struct hz3_epoch_info {
    uint64_t seq;                 /* one global sequence */
    uint32_t reason;              /* enum hz3_epoch_reason */
    uint32_t os_tid;              /* the thread that ran it */
    char thread_name[16];
    uint64_t start_ms;            /* wall clock */
    uint64_t duration_ns;
    uint64_t pages_purged;        /* pages decommitted by this epoch */
    uint64_t madvise_calls;
    uint64_t segments_unmapped;   /* wholly free segments given back */
    uint64_t segments_scanned;    /* census sweep progress in this epoch */
    uint64_t spans_reclaimed;     /* abandoned spans found empty and given back */
    uint64_t large_unmapped;      /* cached large mappings given back */
};

/* Runs an epoch now on the calling thread; returns its sequence number. */
uint64_t hz3_epoch_force(void);

/* Gives back everything free now (no delay), from every thread's heap
 * (see "What a purge returns" above): returns pages decommitted. */
uint64_t hz3_purge_now(void);

/* Listener: called from hz3's maintenance thread, never from inside
 * malloc/free, so it may allocate. kind is HZ3_EVENT_EPOCH (data: struct
 * hz3_epoch_info) or HZ3_EVENT_SNAPSHOT (data: struct hz3_snapshot, one per
 * completed sweep, at most one per snapshot_min_ms). A timer epoch that
 * changed nothing (no page purged, span reclaimed, segment or large mapping
 * unmapped, segment scanned) is passed on only when no epoch was for a
 * second: seq then skips the others. The data is valid
 * during the call. NULL removes the listener. Returns 0, -1 if the
 * maintenance thread could not be started. Once hz3_obs_set_listener
 * returns, the previous listener is not running and will not be called
 * again (unless this is called from within that listener). */
enum hz3_event_kind { HZ3_EVENT_EPOCH = 1, HZ3_EVENT_SNAPSHOT = 2 };
typedef void (*hz3_listener_fn)(void *ctx, int kind, const void *data);
int hz3_obs_set_listener(hz3_listener_fn fn, void *ctx);

/* A descriptor watched on a thread of hz3's own (named hz3-watch), which
 * waits in poll(2) until fd is readable and then calls fn(ctx, fd) there.
 * fn must take what made fd readable (accept the connection, read the
 * data), and returns 0 to go on watching, anything else to stop. While it
 * waits the thread runs no code: a JVM agent serves its control socket
 * this way without a Java thread of its own (JFR's thread sampler visits
 * every Java thread at each of its periods). One descriptor at a time: a
 * call replaces the previous watch; fd < 0 or fn NULL stops watching. Once
 * it returns, the previous fn is not running and will not be called again
 * (unless this is called from within it). The caller keeps fd, and closes
 * it after stopping. A descriptor closed while watched ends the watch. A
 * fork child watches nothing. Returns 0, or -1 when the thread could not
 * be started. */
typedef int (*hz3_watch_fn)(void *ctx, int fd);
int hz3_watch_fd(int fd, hz3_watch_fn fn, void *ctx);

/* Configuration by name (the same names as the HZ3_* environment variables,
 * lower case, without the prefix): scan_seg_budget (segments the census
 * sweep reads per epoch, 0 = no sweeps; default 64), purge_delay_ms (how
 * long memory stays free before it is decommitted, as far as it exceeds
 * what was taken again within that time; 500), epoch_interval_ms
 * (timer epochs; 0 = no maintenance thread; 200), snapshot_min_ms (at most
 * one snapshot to the listener per this; 1000), obs (exit report, 0/1). set returns 0, or -1 for an
 * unknown name or a value out of range; get returns -1 for an unknown name. */
int hz3_config_set(const char *name, int64_t value);
int64_t hz3_config_get(const char *name);

/* Debug aid: walks every page and checks the census definitions and the
 * allocator's invariants; returns the number of violations (each printed
 * to stderr). */
uint64_t hz3_debug_validate(void);

/* ==== Sampled allocations and the Java call sites that made them ====
 *
 * Off by default. hz3_sampling_set(N) samples allocations by bytes: the
 * points where a sample is taken fall at exponential intervals of mean N
 * bytes over the stream of bytes each thread allocates, so an object of
 * s bytes is sampled with probability 1 - exp(-s/N), and its weight (the
 * bytes it stands for) is its requested size divided by that probability:
 * the sum of the weights of the live samples is an unbiased estimate of the
 * live bytes (about N per sample for objects much smaller than N). The
 * fast paths of malloc and free are the same whether sampling is on or
 * off: the slow path hands each size class a free list that runs dry where
 * the next sample falls. Objects and mappings above 32 KiB are counted on
 * their own slow paths.
 *
 * Call sites: every thread has a slot (hz3_site_slot). A caller (the Java
 * agent) writes a site value into slot->site around a call; every sample
 * the thread takes meanwhile records that value, including the mallocs a
 * library makes inside the call (zlib's state inside a Deflater, a JNI
 * library's buffers). 0 means no site. When the recorded site is not 0,
 * hz3 increments slot->sampled, so the caller learns after the call
 * whether anything was sampled inside it, and only then pays for naming
 * the site: hz3_site_rename relabels the samples taken under a temporary
 * value (a fresh token per call, bit 63 set by convention) to a lasting
 * site id. A rename from the thread that took the samples costs a few
 * table look-ups; one from another thread scans the table.
 *
 * A sampled object stays in a side table until it is freed, from any
 * thread. The table holds at most HZ3_SAMPLE_CAPACITY live samples (in 16
 * shards by address, each at most a sixteenth: a shard that is full drops
 * the sample and counts it in table_dropped); at the default mean of 512
 * KiB that is about 6 GiB of sampled live memory.
 *
 * Cost: the fast paths of malloc and free are the same instructions with
 * sampling off or on. With it on, a list handed out is charged to the
 * class's next sample point on the malloc that finds the list empty (a
 * few instructions more there), and every free into a span that holds a
 * live sample goes through the generic free, which looks it up in the
 * table. Measured counts: bench/RESULTS.md.
 * Keep in sync with: jfr-events (hz3.NativeSite), docs/observation.md.
 */
#define HZ3_SAMPLE_CAPACITY 12288

/* 0 turns sampling off (samples still live stay until freed);
 * otherwise the mean interval in bytes, at least 1 KiB and at most
 * 2^40. Returns 0, or -1 on bad input. The environment variable
 * HZ3_SAMPLE_BYTES=N does the same at start-up. */
int hz3_sampling_set(uint64_t mean_bytes);

struct hz3_site_slot { volatile uint64_t site; volatile uint64_t sampled; };
/* The calling thread's slot, valid for the thread's life. */
struct hz3_site_slot *hz3_site_slot(void);

/* Relabels every live sample whose site is `from`; samples taken later
 * under `from` keep it. Returns the number relabelled. A token (bit 63
 * set) is looked for among the last samples the calling thread took under
 * tokens, and the whole table is scanned only when the thread took more
 * than it remembers (8) before renaming; any other `from` scans the table. */
int hz3_site_rename(uint64_t from, uint64_t to);

/* Per site, over its live samples:
 *   live_samples, live_bytes_est (sum of weights), oldest_age_ms (age of
 *   its oldest live sample);
 *   pinned_pages, pinned_bytes: ESTIMATES of the resident pages of partly
 *   used spans (neither full nor empty) that the site's live objects sit
 *   on, and of those pages' bytes that no live object uses (what hz3
 *   could return if the objects on them were freed). Each live sample on
 *   a partial span stands for weight/size blocks, and each such block for
 *   its class's exact partial pages (and unused bytes) over the class's
 *   exact live blocks on partial spans. Unbiased; its error falls with the
 *   site's live samples as the live bytes' does. When noise puts the sum
 *   over all sites (0 included) above the census's partial pages, every
 *   site is scaled down to it; a page shared by two sites is split between
 *   them, not counted twice.
 * Objects above the span tiers (runs, mappings of their own) pin no
 * pages. */
struct hz3_site_stat { uint64_t site, live_samples, live_bytes_est, oldest_age_ms, pinned_pages, pinned_bytes; };
/* Fills up to max sites, biggest live_bytes_est first; returns the number
 * of sites with live samples (may exceed max). */
size_t hz3_site_census(struct hz3_site_stat *out, size_t max);

/* One sample as taken: the object's address, requested size, weight
 * (bytes it stands for), site, time (ms since 1970), tier (enum hz3_tier)
 * and size class (UINT32_MAX for objects above the span tiers). */
struct hz3_sample_rec { uint64_t addr, size, weight, site, time_ms; uint32_t tier, cls; };
/* The samples taken since the last call, oldest first, from a bounded ring
 * (HZ3_SAMPLE_RING records: samples that found it full are counted in
 * ring_dropped). Returns how many were written (at most max; the rest
 * wait for the next call). */
#define HZ3_SAMPLE_RING 4096
size_t hz3_samples_take(struct hz3_sample_rec *out, size_t max);

struct hz3_sampling_stats {
    uint64_t mean_bytes;        /* 0: off */
    uint64_t samples_taken;     /* since the process started */
    uint64_t samples_live;      /* in the side table now */
    uint64_t table_dropped;     /* samples not kept: the side table was full */
    uint64_t ring_dropped;      /* records hz3_samples_take lost: the ring was full */
    uint64_t samples_freed;
};
void hz3_sampling_stats_get(struct hz3_sampling_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* HZ3_H */
