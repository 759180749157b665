/*
 * test-threads.c: 10,000 thread lifetimes, four alive at a time. Each
 * thread allocates objects of every segment tier, frees most, and leaves
 * some for the next generation to free (cross-thread frees into the heaps
 * of ended threads). A thread's memory must go back when it ends: from the
 * first hundred lifetimes on, segment count and heap records stay flat,
 * and what is resident once free memory is purged (hz3_purge_now, which
 * skips the purge delay) stays flat too.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define LIFETIMES 10000
#define ALIVE 4
#define PER_THREAD 300
#define HANDOFF 16

static void *handoff[ALIVE][HANDOFF];

static void *life(void *arg)
{
    unsigned idx = (unsigned)(uintptr_t)arg;
    uint64_t r = idx * 7919u + 1;
    void *mine[PER_THREAD];
    for (int i = 0; i < PER_THREAD; i++) {
        size_t n = (t_rand(&r) % 8 == 0) ? 4096 + t_rand(&r) % 20000 : 16 + t_rand(&r) % 2000;
        mine[i] = malloc(n);
        memset(mine[i], 0x5a, n < 64 ? n : 64);
    }
    /* free what the previous thread in this lane left behind */
    for (int i = 0; i < HANDOFF; i++) free(handoff[idx % ALIVE][i]);
    for (int i = 0; i < PER_THREAD - HANDOFF; i++) free(mine[i]);
    for (int i = 0; i < HANDOFF; i++) handoff[idx % ALIVE][i] = mine[PER_THREAD - HANDOFF + i];
    return NULL;
}

int main(void)
{
    struct hz3_stats at100 = { 0 };
    size_t rss100 = 0;
    pthread_t t[ALIVE];
    for (unsigned gen = 0; gen < LIFETIMES / ALIVE; gen++) {
        for (unsigned i = 0; i < ALIVE; i++) pthread_create(&t[i], NULL, life, (void *)(uintptr_t)(gen * ALIVE + i));
        for (unsigned i = 0; i < ALIVE; i++) pthread_join(t[i], NULL);
        /* Baseline: the most seen at the checkpoints of lifetimes 100..1000
         * (which threads leave objects where varies from run to run). */
        unsigned done = (gen + 1) * ALIVE;
        if (done >= 100 && done <= 1000 && done % 100 == 0) {
            t_hz3()->purge_now();
            struct hz3_stats st = t_stats();
            size_t rss = t_hz3_rss();
            if (st.segments_active > at100.segments_active) at100.segments_active = st.segments_active;
            if (st.heaps_created > at100.heaps_created) at100.heaps_created = st.heaps_created;
            if (rss > rss100) rss100 = rss;
        }
    }
    struct hz3_stats before_purge = t_stats();
    t_hz3()->purge_now();
    struct hz3_stats end = t_stats();
    size_t rss_end = t_hz3_rss();
    CHECK_MSG(before_purge.segments_active <= at100.segments_active + 2, "segments in use grew: %llu -> %llu",
              (unsigned long long)at100.segments_active, (unsigned long long)before_purge.segments_active);
    printf("lifetimes 100..1000 (most): segments=%llu heaps=%llu rss=%zu KiB; after %d: segments=%llu heaps=%llu rss=%zu KiB exited=%llu\n",
           (unsigned long long)at100.segments_active, (unsigned long long)at100.heaps_created, rss100 >> 10,
           LIFETIMES, (unsigned long long)end.segments_active, (unsigned long long)end.heaps_created, rss_end >> 10,
           (unsigned long long)end.threads_exited);
    CHECK(end.threads_exited >= LIFETIMES);
    CHECK(end.heaps_live <= 2);   /* main thread, at most one more */
    /* heap records are recycled: never more than were alive at once */
    CHECK_MSG(end.heaps_created <= ALIVE + 2, "heap records: %llu -> %llu",
              (unsigned long long)at100.heaps_created, (unsigned long long)end.heaps_created);
    CHECK_MSG(end.segments_active <= at100.segments_active + 1, "segments grew: %llu -> %llu",
              (unsigned long long)at100.segments_active, (unsigned long long)end.segments_active);
    CHECK_MSG(rss_end <= rss100 + rss100 / 4 + (256u << 10), "rss grew: %zu -> %zu", rss100, rss_end);
    for (unsigned l = 0; l < ALIVE; l++)
        for (int i = 0; i < HANDOFF; i++) free(handoff[l][i]);
    return t_finish("test-threads");
}
