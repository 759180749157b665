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

/* Tiers, as used in reports: small (one-page spans), sub4k (spans of a few
 * pages holding objects of 1-4 KiB), medium (one object per run of pages),
 * large (one mapping per object, outside segments). */
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
    uint64_t large_count;       /* live large objects */
    uint64_t large_bytes;       /* their mapped bytes */
    uint64_t large_cached;      /* cached large mappings */
    uint64_t large_cached_bytes;
    uint64_t heaps_live;        /* thread heaps in use */
    uint64_t heaps_created;     /* heap structs ever created (reused after thread exit) */
    uint64_t threads_exited;    /* thread heaps given back at thread exit */
    uint64_t meta_bytes;        /* allocator metadata outside segments */
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

#ifdef __cplusplus
}
#endif
#endif /* HZ3_H */
