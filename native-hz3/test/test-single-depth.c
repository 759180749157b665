/*
 * test-single-depth.c: a thread's block cache of a single class (20-32
 * KiB, one object per span) holds 16 of its 32 KiB objects
 * (HZ3_BCACHE_SINGLE_BYTES, 512 KiB a class): a class's count of live
 * objects drifts up and down at random in a churn of many sizes, and a
 * cache of 8 was full or empty for about one malloc or free in four,
 * each a mispredicted branch on the fast path and a trip through the span
 * and the singles' cache (single.c) (bench/RESULTS.md, 2026-12-03 (late)).
 * The census says where a freed single waits: in the block cache, its
 * pages are empty and held by its thread; in the singles' cache, empty
 * and a purge candidate (include/hz3.h).
 *
 * Thread B allocates 16 singles of 32 KiB, writes them, frees them all and
 * parks; the main thread takes the census: all 16 held, none a
 * candidate. Then B ends and the class's census is where it started.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { N = 16, SINGLE = 32 << 10 };

static void *obj[N];
static pthread_barrier_t bar;

static void step(void) { pthread_barrier_wait(&bar); }

static void *thread_b(void *arg)
{
    for (int i = 0; i < N; i++) memset(obj[i] = malloc(SINGLE), 0x5a, SINGLE);
    for (int i = 0; i < N; i++) free(obj[i]);
    step();   /* main: census */
    step();
    return arg;
}

int main(void)
{
    t_quiet_threads();   /* no epoch: one would flush the caches looked at */
    static struct hz3_snapshot base, now;
    t_snapshot(&base);
    int cls = t_class_of(&base, SINGLE);
    CHECK_MSG(cls >= 0 && base.classes[cls].span_pages * 4096u == SINGLE, "a class of %d B, one per span", SINGLE);
    if (cls < 0) return t_finish("test-single-depth");
    long pages = SINGLE / 4096;

    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_b, NULL) == 0);
    step();
    t_snapshot(&now);
    t_class_delta d = t_class_delta_of(&base, &now, cls);
    CHECK_MSG(d.live == 0 && d.empty == N * pages, "32 KiB: live %+ld empty pages %+ld; expected 0 %+ld", d.live,
              d.empty, N * pages);
    /* all in B's block cache (held), none in its singles' cache (candidates) */
    CHECK_MSG(d.cand == 0 && d.held >= N * pages,
              "B's %d freed singles: %+ld candidate pages, %+ld held; expected 0 and at least %+ld (cached)", N,
              d.cand, d.held, N * pages);
    CHECK(t_hz3()->validate() == 0);
    step();
    pthread_join(t, NULL);
    t_snapshot(&now);
    CHECK_MSG(now.classes[cls].live_objects == base.classes[cls].live_objects, "32 KiB: live %llu after B ended, %llu before",
              (unsigned long long)now.classes[cls].live_objects, (unsigned long long)base.classes[cls].live_objects);
    CHECK(t_hz3()->validate() == 0);
    pthread_barrier_destroy(&bar);
    return t_finish("test-single-depth");
}
