/*
 * test-exit-segments.c: a thread's end gives back the segments it leaves
 * wholly free, but one, at once rather than after the purge delay. A program
 * whose threads come and go (the suite's mstress: rounds of threads, each
 * round's pages handed to the next) otherwise holds every segment the last
 * round emptied while the next one runs, and its peak grows round by round.
 *
 * The purge delay is set to an hour, so that no age-based purge can be what
 * gives the segments back.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define OBJ 256
#define BYTES (3u << 20)   /* about three segments of small spans */

static void *churn(void *arg)
{
    size_t n = BYTES / OBJ;
    char **v = malloc(n * sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < n; i++) {
        v[i] = malloc(OBJ);
        if (v[i]) memset(v[i], (int)i, OBJ);
    }
    *(struct hz3_stats *)arg = t_stats();
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
    return NULL;
}

static uint64_t run_thread(struct hz3_stats *peak)
{
    pthread_t t;
    if (pthread_create(&t, NULL, churn, peak) != 0) return 0;
    pthread_join(t, NULL);
    return 1;
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    CHECK(hz->config_set("purge_delay_ms", 3600000) == 0);
    struct hz3_stats before = t_stats(), peak = { 0 };
    CHECK(run_thread(&peak));
    struct hz3_stats after = t_stats();
    static struct hz3_snapshot snap;
    t_snapshot(&snap);
    /* the thread's spans took at least two segments of their own */
    CHECK_MSG(peak.segments_active >= before.segments_active + 2, "segments %llu -> %llu at the thread's peak",
              (unsigned long long)before.segments_active, (unsigned long long)peak.segments_active);
    /* At its end they are wholly free, but for any it left an object in
     * (glibc's thread teardown frees some of its blocks only later): one
     * is kept (HZ3_FREE_SEGS_KEEP), the rest are given back. */
    CHECK_MSG(snap.cand_unmap_segs <= 1, "%llu wholly free segments kept after the thread's end (%llu at its peak, %llu now)",
              (unsigned long long)snap.cand_unmap_segs, (unsigned long long)peak.segments_active,
              (unsigned long long)after.segments_active);
    CHECK_MSG(after.segments_unmapped > before.segments_unmapped, "segments unmapped %llu -> %llu",
              (unsigned long long)before.segments_unmapped, (unsigned long long)after.segments_unmapped);
    /* the next thread gets memory again (from the kept segment and new ones) */
    struct hz3_stats again = { 0 };
    CHECK(run_thread(&again));
    CHECK(again.segments_active >= before.segments_active + 2);
    CHECK(hz->validate() == 0);
    return t_finish("test-exit-segments");
}
