/*
 * test-medium-depth.c: a thread's block cache of a shared medium class
 * (4-16 KiB) holds 16 blocks (src/bcache.c, HZ3_BCACHE_MEDIUM_BLOCKS),
 * whatever the small and sub4k classes took of the thread's budget: a
 * class's count of live objects drifts at random in a churn of many sizes,
 * and a cache of 8 inside the budget was full or empty for about one
 * medium malloc or free in four, each a mispredicted branch on the fast
 * path (bench/RESULTS.md, 2026-12-03 (late)).
 *
 * Thread B allocates one object of every small and sub4k class (which
 * arms their caches and takes the budget), then 32 objects of 16 KiB,
 * frees the first 16 and allocates 16: each one freed comes back (malloc
 * pops the cache first, hz3_hot.h), most recent first. When B ends, the
 * census of the class is where it started.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { SIZE = 16 << 10, N = 32, DEPTH = 16, MAX_SHARED = 3584 };

static unsigned n_cls;
static size_t size_of[HZ3_CENSUS_CLASSES];
static void *own[HZ3_CENSUS_CLASSES], *obj[N], *again[DEPTH];
static unsigned hits, lifo;

static void *thread_b(void *arg)
{
    for (unsigned k = 0; k < n_cls; k++) own[k] = malloc(size_of[k]);
    for (int i = 0; i < N; i++) memset(obj[i] = malloc(SIZE), 0x5a, 64);
    for (int i = 0; i < DEPTH; i++) free(obj[i]);
    for (int i = 0; i < DEPTH; i++) {
        again[i] = malloc(SIZE);
        hits += again[i] == obj[DEPTH - 1 - i];
        for (int j = 0; j < DEPTH; j++) lifo += again[i] == obj[j];
    }
    for (int i = 0; i < DEPTH; i++) free(again[i]);
    for (int i = DEPTH; i < N; i++) free(obj[i]);
    for (unsigned k = 0; k < n_cls; k++) free(own[k]);
    return arg;
}

int main(void)
{
    t_quiet_threads();   /* no epoch: one would flush the caches looked at */
    static struct hz3_snapshot base, now;
    t_snapshot(&base);
    n_cls = t_classes_upto(&base, MAX_SHARED, NULL, size_of);
    CHECK_MSG(n_cls >= 25, "%u small and sub4k classes", n_cls);
    int cls = t_class_of(&base, SIZE);
    CHECK(cls >= 0);
    if (cls < 0) return t_finish("test-medium-depth");

    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_b, NULL) == 0);
    pthread_join(t, NULL);
    CHECK_MSG(lifo == DEPTH, "%u of B's %d freed 16 KiB objects came back from its cache, expected all", lifo, DEPTH);
    CHECK_MSG(hits == DEPTH, "%u of %d came back most recent first", hits, DEPTH);
    t_snapshot(&now);
    CHECK_MSG(now.classes[cls].live_objects == base.classes[cls].live_objects, "16 KiB: live %llu after B ended, %llu before",
              (unsigned long long)now.classes[cls].live_objects, (unsigned long long)base.classes[cls].live_objects);
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-medium-depth");
}
