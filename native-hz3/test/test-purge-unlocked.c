/*
 * test-purge-unlocked.c: a purge makes its madvise calls with the page
 * pool's lock dropped, and a span given back meanwhile, into a segment the
 * purge holds out of the index, is in the index once the purge is done.
 *
 * Every take and give of a span waits on the pool lock: a purge that made
 * its calls under it (tens of microseconds each on a loaded machine, 542 a
 * run of the JVM churn workload once free pages of segments in use were
 * purged too) held them all up. A seccomp filter on this (the purging)
 * thread traps hz3's madvise calls; at each one the handler has a second
 * thread free a run, which gives its pages back under the pool lock, and
 * waits for that free to finish before it makes the call itself. With the
 * lock held across the call the free cannot finish: the wait gives up after
 * 2 s and the test fails. Then: the freed pages were purged (not resident),
 * the freed runs are taken again, the index and census hold (validate), and
 * the census matches smaps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "test_util.h"

enum { DELAY = 50, RUN = 64 << 10, N = 48 };

static void *runs[3 * N];
static void *victims[N];
static unsigned nvictims, next_victim;
static sem_t go, done;
static volatile sig_atomic_t checking, calls, waited_out;
static volatile int stop;

/* Frees one victim run each time it is told to: a give, under the pool lock. */
static void *helper(void *arg)
{
    for (;;) {
        while (sem_wait(&go) != 0) continue;
        if (stop) return arg;
        free(victims[next_victim++]);
        sem_post(&done);
    }
}

static void at_madvise(void)
{
    calls++;
    if (checking && next_victim < nvictims) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;   /* a bound for the failure only: a pass never waits it out */
        sem_post(&go);
        int rc;
        while ((rc = sem_timedwait(&done, &until)) != 0 && errno == EINTR) continue;
        if (rc != 0) {
            waited_out++;
            checking = 0;
        }
    }
}

static void touch(void *p)
{
    for (size_t off = 0; off < RUN; off += 4096) ((volatile char *)p)[off] = 1;
}

static void pause_ms(unsigned ms)
{
    struct timespec ts = { 0, (long)ms * 1000000L };
    while (nanosleep(&ts, &ts) != 0) continue;
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    CHECK(hz->config_set("epoch_interval_ms", 0) == 0);   /* only the epochs of this test */
    CHECK(hz->config_set("purge_delay_ms", DELAY) == 0);
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, helper, NULL) == 0);

    /* Runs in a row: every third one freed (its pages purged once they
     * stayed free for the delay), every third one freed by the helper
     * during the purge's calls, the rest kept. */
    for (unsigned i = 0; i < 3 * N; i++) touch(runs[i] = malloc(RUN));
    for (unsigned i = 0; i < 3 * N; i += 3) free(runs[i]);
    for (unsigned i = 1; i < 3 * N; i += 3) victims[nvictims++] = runs[i];
    hz->epoch_force();   /* a point of the pool's demand, for the working set */
    pause_ms(2 * DELAY + 20);

    CHECK(t_trap_madvise(at_madvise) == 0);
    struct hz3_stats s0 = t_stats();
    checking = 1;
    hz->epoch_force();
    checking = 0;
    struct hz3_stats s1 = t_stats();
    printf("purge: %llu pages in %llu madvise calls (%d trapped), %u runs freed during them, %d waits given up\n",
           (unsigned long long)(s1.pages_purged - s0.pages_purged),
           (unsigned long long)(s1.madvise_calls - s0.madvise_calls), (int)calls, next_victim, (int)waited_out);
    CHECK_MSG(s1.pages_purged - s0.pages_purged >= (uint64_t)N * (RUN / 4096), "%llu pages purged",
              (unsigned long long)(s1.pages_purged - s0.pages_purged));
    CHECK(calls > 0);
    CHECK(next_victim > 0);
    CHECK_MSG(waited_out == 0, "a free waited out a madvise call of the purge: the pool lock was held across it");

    long resident = 0;
    for (unsigned i = 0; i < 3 * N; i += 3) resident += t_resident_pages(runs[i], RUN);
    CHECK_MSG(resident == 0, "%ld pages of the freed runs still resident", resident);

    /* The runs the helper freed are in the index again: as many runs of
     * the size are taken without a new segment. */
    uint64_t segs = t_stats().segments_active;
    unsigned freed = next_victim;
    void *again[N];
    for (unsigned i = 0; i < freed; i++) touch(again[i] = malloc(RUN));
    CHECK_MSG(t_stats().segments_active == segs, "segments %llu -> %llu", (unsigned long long)segs,
              (unsigned long long)t_stats().segments_active);
    CHECK(hz->validate() == 0);
    t_hz3_rss();   /* the reading's own buffers exist before the census */
    static struct hz3_snapshot snap;
    t_snapshot(&snap);
    size_t rss = t_hz3_rss();
    double ratio = (double)snap.census_resident_bytes / (double)rss;
    CHECK_MSG(ratio > 0.9995 && ratio < 1.0005, "census %llu vs rss %zu", (unsigned long long)snap.census_resident_bytes,
              rss);

    stop = 1;
    sem_post(&go);
    pthread_join(t, NULL);
    for (unsigned i = 0; i < freed; i++) free(again[i]);
    for (unsigned i = next_victim; i < nvictims; i++) free(victims[i]);
    for (unsigned i = 2; i < 3 * N; i += 3) free(runs[i]);
    return t_finish("test-purge-unlocked");
}
