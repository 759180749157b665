/*
 * test-large-move.c: a large object that no cached extent holds takes the
 * cached extents' resident pages, moved into place, instead of faulting
 * fresh ones in beside them.
 *
 * Five 6 MiB objects written through, each followed by a live 2 MiB
 * guard, are freed: the cache holds five resident extents that no
 * neighbour can join. A 20 MiB object fits none of them; it lands on the
 * last one and the free address space after it, and what it needs beyond
 * that extent (about 13.5 MiB) used to fault in page by page (3,456
 * faults) while the other four extents stayed cached beside it. Their
 * pages, moved over in 2 MiB blocks, now serve it: only its unaligned
 * edges fault. A calloc served so reads as zero (the moved pages held the
 * freed objects' bytes), a realloc keeps its bytes, and the census stays
 * exact: the moved-from ranges hold no page and count as given back.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "test_util.h"

#define MIB ((size_t)1 << 20)
#define PAGE 4096u
#define N 5

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* hz3 moves pages only while the extents it gave back were mostly
 * resident (large.h, _hz3_large_dense): a few written-through objects,
 * each decommitted by a full purge, say so. */
static void written_through_history(void)
{
    for (int i = 0; i < 10; i++) {
        unsigned char *p = malloc(4 * MIB);
        memset(p, 1, 4 * MIB);
        free(p);
        t_hz3()->purge_now();
    }
}

/* Leaves N freed 6 MiB extents, written through and cached, each kept
 * apart from the next by a live guard (returned in guard[]). */
static void cached_apart(unsigned char *guard[N])
{
    unsigned char *obj[N];
    for (int i = 0; i < N; i++) {
        obj[i] = malloc(6 * MIB);
        guard[i] = malloc(2 * MIB);
        memset(obj[i], 0x5a, 6 * MIB);
        memset(guard[i], 0x33, 2 * MIB);
    }
    for (int i = 0; i < N; i++) free(obj[i]);
    struct hz3_stats st = t_stats();
    CHECK_MSG(st.large_cached == N, "%llu extents cached, want %d apart", (unsigned long long)st.large_cached, N);
}

static void census_exact(const char *when)
{
    static struct hz3_snapshot snap;
    t_hz3_rss();
    t_snapshot(&snap);
    size_t rss = t_hz3_rss();
    CHECK_MSG(snap.census_resident_bytes == rss, "%s: census %llu bytes resident, smaps %zu", when,
              (unsigned long long)snap.census_resident_bytes, rss);
}

static void moved_not_faulted(void)
{
    unsigned char *guard[N];
    cached_apart(guard);
    size_t cached = t_stats().large_cached_bytes, n = 20 * MIB;
    long before = minor_faults();
    unsigned char *x = malloc(n);
    memset(x, 0x77, n);
    long faults = minor_faults() - before;
    CHECK_MSG(faults < (long)(n / PAGE) / 5, "a 20 MiB object beside %zu cached bytes faulted %ld pages of %zu", cached, faults,
              n / PAGE);
    size_t left = t_stats().large_cached_bytes;
    CHECK_MSG(left + 12 * MIB <= cached, "the cache still holds %zu bytes of %zu: its pages were not moved", left, cached);
    census_exact("after the move");
    for (int i = 0; i < N; i++) CHECK(guard[i][0] == 0x33 && guard[i][2 * MIB - 1] == 0x33);
    /* An object made of moved blocks spans several kernel mappings: a
     * realloc either way keeps its bytes (grown in place, or copied). */
    x = realloc(x, 3 * n);
    size_t changed = 0;
    for (size_t i = 0; i < n; i++) changed += x[i] != 0x77;
    x = realloc(x, n / 4);
    for (size_t i = 0; i < n / 4; i++) changed += x[i] != 0x77;
    CHECK_MSG(changed == 0, "realloc of a moved object: %zu bytes changed", changed);
    free(x);
    for (int i = 0; i < N; i++) free(guard[i]);
    census_exact("after the frees");
}

static void calloc_reads_zero(void)
{
    unsigned char *guard[N];
    cached_apart(guard);
    size_t n = 20 * MIB;
    unsigned char *x = calloc(1, n);
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++) nonzero += x[i] != 0;
    CHECK_MSG(nonzero == 0, "calloc: %zu bytes not zero", nonzero);
    free(x);
    for (int i = 0; i < N; i++) free(guard[i]);
}

int main(void)
{
    int64_t delay = t_hz3()->config_get("purge_delay_ms");
    /* No timed purge in between: the extents stay cached as laid out. */
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    written_through_history();
    moved_not_faulted();
    t_hz3()->purge_now();
    calloc_reads_zero();
    t_hz3()->purge_now();
    CHECK(t_hz3()->config_set("purge_delay_ms", delay) == 0);
    return t_finish("test-large-move");
}
