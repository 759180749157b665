/*
 * test-large-reuse.c: a freed large object's address space is reused in
 * place. Past the purge delay its pages go back to the kernel but the
 * mapping stays (mincore answers for it: an unmapped range is ENOMEM), and
 * the next object of its size lands there without a new mapping. A program
 * replacing 5-25 MiB buffers (malloc_large's shape) changes no mapping of
 * the process once it runs steadily: no mmap, munmap or mremap, so no page
 * tables built or torn down.
 *
 * Sizes and byte counts come from the test's own arithmetic: an object's
 * extent is its usable size plus the 64 bytes before it (test-large.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "test_util.h"

#define MIB ((size_t)1 << 20)
#define PAGE 4096u

static size_t extent_of(void *p) { return malloc_usable_size(p) + 64; }

/* The process's mappings, as /proc/self/maps has them (address ranges
 * only: the rest of a line does not change with hz3's work). */
static size_t read_maps(char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, " ");
        if (n + len + 1 < cap) {
            memcpy(out + n, line, len);
            out[n + len] = '\n';
            n += len + 1;
        }
    }
    fclose(f);
    out[n] = 0;
    return n;
}

/* True when every range of before lies inside one of after: nothing was
 * unmapped or moved (a mapping may have grown, or one been added). Counts
 * the ranges of after that hold none of before into *added. */
static bool maps_kept(const char *before, const char *after, size_t *added)
{
    uint64_t a[256][2];
    size_t na = 0;
    for (const char *c = after; *c && na < 256; c = strchr(c, '\n') + 1) sscanf(c, "%lx-%lx", &a[na][0], &a[na][1]), na++;
    bool hit[256] = { false }, kept = true;
    for (const char *c = before; *c; c = strchr(c, '\n') + 1) {
        uint64_t lo, hi;
        sscanf(c, "%lx-%lx", &lo, &hi);
        bool in = false;
        for (size_t i = 0; i < na && !in; i++)
            if (a[i][0] <= lo && hi <= a[i][1]) in = hit[i] = true;
        kept &= in;
    }
    *added = 0;
    for (size_t i = 0; i < na; i++) *added += !hit[i];
    return kept;
}

static size_t map_lines(void)
{
    static char buf[1 << 16];
    read_maps(buf, sizeof buf);
    size_t n = 0;
    for (char *c = buf; *c; c++) n += *c == '\n';
    return n;
}

static void decommitted_in_place(void)
{
    enum { DELAY_MS = 200 };
    t_hz3()->purge_now();
    CHECK(t_hz3()->config_set("purge_delay_ms", DELAY_MS) == 0);
    size_t n = 8 * MIB;
    unsigned char *a = malloc(n);
    size_t extent = extent_of(a);
    memset(a, 0x5a, n);
    long pages = (long)((64 + n + PAGE - 1) / PAGE);   /* the pages written */
    CHECK_MSG(t_resident_pages(a - 64, extent) == pages, "written object: %ld pages resident, %ld written",
              t_resident_pages(a - 64, extent), pages);
    free(a);
    struct hz3_stats st = t_stats();
    CHECK_MSG(st.large_cached == 1 && st.large_cached_bytes == extent, "freed: %llu extents, %llu bytes cached, extent %zu",
              (unsigned long long)st.large_cached, (unsigned long long)st.large_cached_bytes, extent);

    /* Past the delay an epoch gives the pages back (poll, deadline 10 s). */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    t_epochs_until_large_cache_empty(&start);
    st = t_stats();
    CHECK_MSG(st.large_cached == 0 && st.large_cached_bytes == 0, "after the delay: %llu extents, %llu bytes cached",
              (unsigned long long)st.large_cached, (unsigned long long)st.large_cached_bytes);
    long r = t_resident_pages(a - 64, extent);
    CHECK_MSG(r == 0, "after the delay the extent is %s", r < 0 ? "unmapped (mincore refused it)" : "still resident");
    CHECK_MSG(!t_hz3()->owns(a), "a decommitted extent still counts as hz3's memory");
    static struct hz3_snapshot snap;
    t_hz3_rss();
    t_snapshot(&snap);
    size_t rss = t_hz3_rss();
    CHECK_MSG(snap.census_resident_bytes == rss && snap.large_cached_bytes == 0,
              "census %llu bytes resident, smaps %zu; %llu bytes cached", (unsigned long long)snap.census_resident_bytes, rss,
              (unsigned long long)snap.large_cached_bytes);

    /* The next object of its size takes the same place, with no new
     * mapping, and reads as zero. */
    size_t lines = map_lines();
    unsigned char *b = malloc(n);
    CHECK_MSG(b == a, "same size after the delay: %p, freed %p", (void *)b, (void *)a);
    CHECK_MSG(map_lines() == lines, "a new mapping for it: %zu -> %zu lines in /proc/self/maps", lines, map_lines());
    bool zero = true;
    for (size_t i = 0; i < n; i += PAGE) zero &= b[i] == 0;
    CHECK_MSG(zero, "reused decommitted pages are not zero");
    CHECK(t_stats().large_count == 1 && t_stats().large_bytes == extent);
    free(b);
    CHECK(t_stats().large_cached_bytes == extent);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
}

/* malloc_large's shape: 20 buffers, each replaced at random by one of 5-25
 * MiB whose first and last bytes are written. The same 500 replacements
 * (rng restarts) again and again: the live bytes rise and fall alike in
 * every round, so that what a round needs at its peak is known after the
 * first ones (random rounds reach new peaks, and a new peak needs more
 * address space: that is not a mapping churned). */
enum { SLOTS = 20, ROUND = 500 };
static void replace(unsigned char **slot, int rounds)
{
    uint64_t seed = 0x12345678, *rng = &seed;
    for (int i = 0; i < rounds * ROUND; i++) {
        if (i % ROUND == 0) seed = 0x12345678;
        uint64_t r = t_rand(rng);
        unsigned k = (unsigned)(r % SLOTS);
        size_t n = 5 * MIB + (r >> 32) % (20 * MIB + 1);
        free(slot[k]);
        slot[k] = malloc(n);
        slot[k][0] = 1;
        slot[k][n - 1] = 1;
    }
}

static void steady_mappings(void)
{
    static char before[1 << 16], after[1 << 16];
    unsigned char *slot[SLOTS] = { 0 };
    replace(slot, 12);   /* warm up: the address space grows to what the program needs */
    read_maps(before, sizeof before);
    replace(slot, 4);
    read_maps(after, sizeof after);
    /* Now and then a round still finds no free run big enough where the
     * address space fragmented, and maps a chunk (1 in 8 runs): allowed
     * once. Unmapping, remapping or a new mapping per object are not. */
    size_t added;
    bool kept = maps_kept(before, after, &added);
    CHECK_MSG(kept && added <= 1,
              "4 more rounds changed the mappings (%s, %zu added):\n--- before\n%s--- after\n%s",
              kept ? "none gone" : "some gone", added, before, after);
    struct hz3_stats st = t_stats();
    size_t live = 0;
    for (unsigned k = 0; k < SLOTS; k++) live += extent_of(slot[k]);
    CHECK_MSG(st.large_count == SLOTS && st.large_bytes == live, "%llu objects, %llu bytes live; expected %u, %zu",
              (unsigned long long)st.large_count, (unsigned long long)st.large_bytes, SLOTS, live);
    size_t cached = st.large_cached_bytes;
    for (unsigned k = 0; k < SLOTS; k++) free(slot[k]);
    /* With nothing live the bound is 64 MiB: the cache holds at most that. */
    st = t_stats();
    CHECK_MSG(st.large_count == 0 && st.large_cached_bytes <= 64 * MIB, "%llu bytes cached after freeing all (%zu before)",
              (unsigned long long)st.large_cached_bytes, cached);
}

int main(void)
{
    /* Only the test's own epochs. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    decommitted_in_place();
    steady_mappings();
    return t_finish("test-large-reuse");
}
