/*
 * test-purge-churn.c: a purge keeps the working set and only it. A process
 * that keeps taking free pages again (runs of 64 KiB, allocated, written
 * and freed every few milliseconds) loses none of the pages it takes to
 * epochs while it does so: it would take them again a moment later and
 * fault them back in. The free runs it does not take again (they stayed
 * free for purge_delay_ms while others were taken) go back to the system
 * while it churns, and once it stops taking, epochs give the rest back
 * within a few delays.
 */
#include <stdlib.h>
#include <time.h>
#include "test_util.h"

enum {
    DELAY = 200,          /* purge_delay_ms */
    RUNS = 64, RUN = 64 << 10,
    /* Taken again per round, a round every DELAY / 10: enough that two
     * rounds within a delay (a loaded machine) take as much as is free. */
    PER_ROUND = RUNS / 2,
};
static void *runs[2 * RUNS];

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pause_ms(unsigned ms)
{
    struct timespec ts = { 0, (long)ms * 1000000L };
    nanosleep(&ts, NULL);
}

/* Writes every page of p: resident from now on, a fault each if it was
 * not. One byte a page keeps a round short on a loaded machine. */
static void *touch(void *p, size_t size)
{
    for (size_t off = 0; off < size; off += 4096) ((volatile char *)p)[off] = 1;
    return p;
}

/* Free pages a purge would decommit now, from an exact census. */
static uint64_t candidates(void)
{
    static struct hz3_snapshot snap;
    t_snapshot(&snap);
    uint64_t n = 0;
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) n += snap.tier[t].cand_decommit_pages;
    return n;
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    CHECK(hz->config_set("epoch_interval_ms", 0) == 0);   /* only the epochs of this test */
    CHECK(hz->config_set("purge_delay_ms", DELAY) == 0);

    /* A standing set with every other run freed: free runs that do not
     * merge with their neighbours. */
    for (unsigned i = 0; i < 2 * RUNS; i++) runs[i] = touch(malloc(RUN), RUN);
    for (unsigned i = 1; i < 2 * RUNS; i += 2) free(runs[i]);
    struct hz3_stats s0 = t_stats();

    /* Churn for five delays, with an epoch after every round. Every run
     * taken after the first round must be one the churn gave back, still
     * resident: no purge took its pages. */
    unsigned rounds = 0, refaulted = 0;
    for (uint64_t end = now_ms() + 5 * DELAY; now_ms() < end; rounds++) {
        void *q[PER_ROUND];
        for (unsigned k = 0; k < PER_ROUND; k++) {
            q[k] = malloc(RUN);
            if (rounds > 0 && t_resident_pages(q[k], RUN) != RUN >> 12) refaulted++;
            touch(q[k], RUN);
        }
        for (unsigned k = 0; k < PER_ROUND; k++) free(q[k]);
        hz->epoch_force();
        pause_ms(DELAY / 10);
    }
    struct hz3_stats s1 = t_stats();
    uint64_t free_run_pages = (uint64_t)RUNS * (RUN >> 12), idle_pages = free_run_pages - PER_ROUND * (RUN >> 12);
    uint64_t purged = s1.pages_purged - s0.pages_purged;
    printf("churn: %u rounds in %u ms: %llu pages purged in %llu madvise calls, %u runs taken again not resident\n",
           rounds, 5 * DELAY, (unsigned long long)purged, (unsigned long long)(s1.madvise_calls - s0.madvise_calls),
           refaulted);
    CHECK_MSG(refaulted == 0, "%u runs the churn took again had lost pages", refaulted);
    /* The runs it never took again went back (other free pages of the
     * process may have too, a few of them). */
    CHECK_MSG(purged >= idle_pages && purged < idle_pages + PER_ROUND * (RUN >> 12) / 4,
              "%llu pages purged during the churn, the runs it left hold %llu", (unsigned long long)purged,
              (unsigned long long)idle_pages);

    /* The churn stops: epochs give the rest back. */
    CHECK_MSG(candidates() >= free_run_pages - idle_pages, "census: fewer free resident pages than the runs churned");
    uint64_t stop = now_ms(), took = 0;
    for (uint64_t deadline = stop + 20 * DELAY; now_ms() < deadline;) {
        hz->epoch_force();
        if (candidates() < (free_run_pages - idle_pages) / 20) {
            took = now_ms() - stop;
            break;
        }
        pause_ms(DELAY / 10);
    }
    struct hz3_stats s2 = t_stats();
    printf("idle: given back after %llu ms: %llu pages purged in %llu madvise calls\n", (unsigned long long)took,
           (unsigned long long)(s2.pages_purged - s1.pages_purged),
           (unsigned long long)(s2.madvise_calls - s1.madvise_calls));
    /* A delay for the pages to become candidates and a delay and a quarter
     * for the working set to empty, both counted from the last round. */
    CHECK_MSG(took > 0 && took <= 4 * DELAY, "given back after %llu ms (0: not within %u ms)", (unsigned long long)took,
              20 * DELAY);
    CHECK(s2.pages_purged - s1.pages_purged >= free_run_pages - idle_pages);

    for (unsigned i = 0; i < 2 * RUNS; i += 2) free(runs[i]);
    CHECK(hz->validate() == 0);
    return t_finish("test-purge-churn");
}
