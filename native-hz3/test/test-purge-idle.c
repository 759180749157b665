/*
 * test-purge-idle.c: a purge from one thread returns the free pages of
 * every thread, and the census predicts what it returns. Eight threads
 * fill and free objects of every tier (small, sub4k, medium, runs), so
 * that each holds empty pages of its own, and leave objects of one more
 * class for the main thread to free (spans emptied by another thread's
 * frees, which their idle owner never collects), then park on a condition
 * variable. The main thread takes an exact census, reads the Rss of hz3's
 * mappings (smaps), purges (hz3_purge_now, then in a second round
 * malloc_trim(0)) and reads Rss again: the drop must be the census's
 * prediction (cand_decommit_pages over the tiers, plus cand_header_pages)
 * within 1%. The threads never run during the purge: they are idle, as a
 * JVM's threads are when jcmd System.trim_native_heap runs.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define THREADS 8

/* Per thread and round: {size, count}. Size classes (small, sub4k and
 * medium) leave one current span and one kept empty span per class with
 * the thread, the rest goes to the page pool; runs go straight back to the
 * pool. */
static const struct { size_t size, count; } work[] = {
    { 24, 2000 }, { 100, 800 }, { 400, 300 }, { 1000, 120 },      /* small */
    { 1500, 80 }, { 2600, 60 }, { 3500, 40 },                     /* sub4k */
    { 8192, 60 }, { 20000, 12 },                                  /* medium */
    { 100000, 3 }, { 600000, 1 },                                 /* runs */
};
#define WORK (sizeof work / sizeof work[0])

enum { REMOTE = 1500, REMOTE_SIZE = 200 };
static void *remote[THREADS][REMOTE];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned round_wanted, parked;
static bool quit;

static void fill_and_free(unsigned seed)
{
    static __thread void *p[2000];
    for (size_t w = 0; w < WORK; w++) {
        for (size_t i = 0; i < work[w].count; i++) {
            p[i] = malloc(work[w].size);
            memset(p[i], (int)(seed + i), work[w].size);
        }
        for (size_t i = 0; i < work[w].count; i++) free(p[i]);
    }
    for (size_t i = 0; i < REMOTE; i++) memset(remote[seed - 1][i] = malloc(REMOTE_SIZE), 1, REMOTE_SIZE);
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg, done = 0;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!quit && round_wanted == done) pthread_cond_wait(&cond, &lock);
        if (quit) break;
        pthread_mutex_unlock(&lock);
        fill_and_free(seed);
        pthread_mutex_lock(&lock);
        done++;
        parked++;
        pthread_cond_broadcast(&cond);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Starts a round on every worker and waits until all have parked again. */
static void run_round(unsigned r)
{
    pthread_mutex_lock(&lock);
    parked = 0;
    round_wanted = r;
    pthread_cond_broadcast(&cond);
    while (parked < THREADS) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    /* Remote frees: the owners are parked and will not collect them. */
    for (unsigned t = 0; t < THREADS; t++)
        for (unsigned i = 0; i < REMOTE; i++) free(remote[t][i]);
}

static uint64_t predicted_pages(const struct hz3_snapshot *s)
{
    uint64_t n = s->cand_header_pages;
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) n += s->tier[t].cand_decommit_pages;
    return n;
}

static void check_purge(const char *how, bool trim)
{
    static struct hz3_snapshot snap;
    t_hz3_rss();   /* the reading's own buffers exist (and are kept) before the census */
    t_snapshot(&snap);
    uint64_t pred = predicted_pages(&snap);
    size_t before = t_hz3_rss();
    if (trim) CHECK(malloc_trim(0) == 1);
    else t_hz3()->purge_now();
    size_t after = t_hz3_rss();
    int64_t drop = (int64_t)before - (int64_t)after;
    int64_t want = (int64_t)(pred * 4096);
    int64_t err = drop > want ? drop - want : want - drop;
    printf("%s: predicted %llu pages (%llu KiB; held by threads %llu pages), rss %zu -> %zu KiB, dropped %lld KiB (%.3f%%)\n",
           how, (unsigned long long)pred, (unsigned long long)pred * 4, (unsigned long long)snap.held_empty_pages,
           before >> 10, after >> 10, (long long)drop >> 10, want ? 100.0 * (double)(drop - want) / (double)want : 0.0);
    CHECK_MSG(pred > 1000, "[%s] too few candidates to measure: %llu", how, (unsigned long long)pred);
    CHECK_MSG(err * 100 <= want, "[%s] rss dropped %lld bytes, census predicted %lld", how, (long long)drop,
              (long long)want);
    t_snapshot(&snap);
    uint64_t left = predicted_pages(&snap);
    CHECK_MSG(left * 100 <= pred, "[%s] candidates left after the purge: %llu", how, (unsigned long long)left);
    CHECK(t_hz3()->validate() == 0);
}

int main(void)
{
    /* No timer epochs, and no purge by slow-path epochs: only ours. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    pthread_t t[THREADS];
    for (unsigned i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    run_round(1);
    check_purge("hz3_purge_now", false);
    run_round(2);
    check_purge("malloc_trim(0)", true);

    pthread_mutex_lock(&lock);
    quit = true;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    for (unsigned i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    return t_finish("test-purge-idle");
}
