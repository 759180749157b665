/*
 * large.h: between large.c (the live large objects: their headers and the
 * table free() looks them up in) and large_extent.c (the free address space
 * they are carved from). All under large.c's lock unless a function says
 * otherwise.
 */
#ifndef HZ3_LARGE_H
#define HZ3_LARGE_H

#include "hz3_internal.h"

#pragma GCC visibility push(hidden)

/* A range of pages: a live object's extent, or a free one. since_ms: when
 * it went free (free ranges only). */
typedef struct { uint8_t *map; size_t size; uint64_t since_ms; } hz3_extent_t;

/* What a freed extent gave up for decommit: at most the cache's slots plus
 * the extent itself. */
#define HZ3_EXTENT_OUT (HZ3_LARGE_CACHE_SLOTS + 1)
/* The fresh pieces of one take that _hz3_extent_fill looks at. */
#define HZ3_EXTENT_HOLES 16

/* Takes at least need bytes of free address space into *got, resident
 * pages first; false when no free range holds them. *fresh: how many of
 * them come decommitted (they read as zero; the rest may hold a freed
 * object's bytes). */
bool _hz3_extent_take(size_t need, hz3_extent_t *got, size_t *fresh);
/* When a request taken wholly from fresh pages keeps some after
 * _hz3_extent_fill (the cache is sparse, or holds no whole 2 MiB block)
 * while the cache keeps resident extents it could not use, the oldest of
 * those go (to out[n...], for _hz3_extent_release), as many bytes as stayed
 * fresh (of the last one its tail, when
 * the rest of it still holds a large object): the process's footprint
 * then grows by the object, not by the object and a full cache beside it
 * (large_churn_t2 peaked 100 MiB higher without this; main moved the
 * biggest cached extent into the object with mremap). Not for a cached
 * extent grown into fresh pages: that mostly reuses resident ones, and
 * draining there too made malloc_large's madvise calls 133 -> 781 per
 * 2,000 replacements. Returns the new n. */
size_t _hz3_extent_drain(size_t fresh, hz3_extent_t *out, size_t n);
/* Moves resident pages of the coldest cached extents into the fresh pieces
 * of the last take (or of e, given by _hz3_extent_fresh after a map), in
 * aligned blocks of 2 MiB: returns how many bytes no longer fault. A
 * cached extent's leftover past a block that finds no slot goes to
 * out[*n...] for _hz3_extent_release. */
size_t _hz3_extent_fill(size_t live_bytes, hz3_extent_t *out, size_t *n);
void _hz3_extent_fresh(hz3_extent_t e);
/* Outside or under the lock: moves the pages of from's size bytes to to
 * (mremap, the source left mapped and empty); false if the kernel refused
 * (to then reads as zero). */
bool _hz3_large_move(uint8_t *from, uint8_t *to, size_t size);
/* Outside the lock: maps fresh address space for need bytes (a chunk sized
 * by live_bytes: the rest of it becomes free address space). */
bool _hz3_extent_map(size_t need, size_t live_bytes, hz3_extent_t *got);
/* Grows the live extent *e in place to need bytes from the free range right
 * after it; false when there is none big enough. */
bool _hz3_extent_grow(hz3_extent_t *e, size_t need);
/* Caches the freed extent e (resident, for reuse), the cache holding at
 * most limit bytes (large.c's cache_bound). Extents the cache gives up go
 * to out[] (at most HZ3_EXTENT_OUT): the caller passes them to
 * _hz3_extent_release after dropping the lock. Returns how many. */
size_t _hz3_extent_give(hz3_extent_t e, size_t limit, hz3_extent_t *out);
/* Outside the lock: decommits the n extents and adds them to the free
 * address space. */
void _hz3_extent_release(hz3_extent_t *out, size_t n, size_t live_bytes);
/* Cached extents unused for delay_ms (all with 0) are decommitted; with 0
 * the free address space is unmapped too. Takes the lock itself; returns
 * how many extents it decommitted. */
size_t _hz3_extent_purge(uint64_t now_ms, uint64_t delay_ms, size_t live_bytes);
void _hz3_extent_stats(struct hz3_stats *st);
/* Whether the extents given back lately were mostly resident (their
 * objects were written through, as large_churn's or a direct buffer's):
 * then keeping freed extents saves faults, where sparse ones (malloc_large
 * writes two bytes of each) cost few faults to take fresh and, reused,
 * carry their predecessors' stray resident pages into the next object
 * (its peak RSS 4.9 -> 12 MB when the cache kept them as it keeps dense
 * ones). Any thread, no lock (large_decommit.c). */
bool _hz3_large_dense(void);
/* Outside the lock: gives the extent's pages back (large_decommit.c). */
void _hz3_large_decommit(uint8_t *map, size_t size);
/* Calls fn for every cached extent. */
void _hz3_extent_each_cached(void (*fn)(uintptr_t start, uintptr_t end, void *arg), void *arg);
bool _hz3_extent_cached_owns(uintptr_t p);

#pragma GCC visibility pop

#endif
