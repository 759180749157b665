/*
 * test-single-budget.c: a thread's singles (20-32 KiB, one object per
 * span) wait in its block cache however much of its budget for the shared
 * classes (src/bcache.c, HZ3_BCACHE_BUDGET) other classes have taken: a
 * thread that allocates every medium class (mixed 4-32 KiB) used to arm
 * the shared classes first and find no budget left for its singles, whose
 * frees then went through their spans into the singles' cache (single.c),
 * three times the instructions. The census says which: a cached single's
 * pages are empty and held by its thread, a kept one's are empty and a
 * purge candidate (include/hz3.h).
 *
 * Thread B allocates one object of every shared class (small, sub4k,
 * medium: up to 16 KiB), which arms their caches and takes the whole
 * budget, then four 20 KiB singles, frees two and parks; the main thread
 * takes the census. Then B frees the rest and ends, and the census is
 * where it started.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { N = 4, FREED = 2, SINGLE = 20000, MAX_SHARED = 16 << 10 };

static unsigned n_cls;
static size_t size_of[HZ3_CENSUS_CLASSES];
static void *own[HZ3_CENSUS_CLASSES], *obj[N];
static pthread_barrier_t bar;

static void step(void) { pthread_barrier_wait(&bar); }

static void *thread_b(void *arg)
{
    for (unsigned k = 0; k < n_cls; k++) own[k] = malloc(size_of[k]);   /* every shared class armed */
    for (int i = 0; i < N; i++) memset(obj[i] = malloc(SINGLE), 0x5a, SINGLE);
    for (int i = 0; i < FREED; i++) free(obj[i]);
    step();   /* main: census */
    step();
    for (int i = FREED; i < N; i++) free(obj[i]);
    for (unsigned k = 0; k < n_cls; k++) free(own[k]);
    return arg;
}

int main(void)
{
    t_quiet_threads();   /* no epoch: one would flush the caches looked at */
    static struct hz3_snapshot base, now;
    t_snapshot(&base);
    n_cls = t_classes_upto(&base, MAX_SHARED, NULL, size_of);
    CHECK_MSG(n_cls > 30, "%u shared classes", n_cls);
    size_t usable = (SINGLE + 4095) / 4096 * 4096;
    int cls = t_class_of(&base, usable);
    CHECK_MSG(cls >= 0 && base.classes[cls].span_pages * 4096u == usable, "a class of %zu B, one per span", usable);
    if (cls < 0) return t_finish("test-single-budget");
    long pages = (long)(usable / 4096);

    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_b, NULL) == 0);
    step();
    t_snapshot(&now);
    t_class_delta d = t_class_delta_of(&base, &now, cls);
    CHECK_MSG(d.live == N - FREED && d.empty == FREED * pages,
              "20 KiB: live %+ld empty pages %+ld; expected %+d %+ld", d.live, d.empty, N - FREED, FREED * pages);
    /* cached (held), not kept (candidates): the budget did not bar them */
    CHECK_MSG(d.cand == 0 && d.held >= FREED * pages,
              "B's two freed singles: %+ld candidate pages, %+ld held; expected 0 and at least %+ld (cached)", d.cand,
              d.held, FREED * pages);
    CHECK(t_hz3()->validate() == 0);
    step();
    pthread_join(t, NULL);
    t_snapshot(&now);
    CHECK_MSG(now.classes[cls].live_objects == base.classes[cls].live_objects, "20 KiB: live %llu after B ended, %llu before",
              (unsigned long long)now.classes[cls].live_objects, (unsigned long long)base.classes[cls].live_objects);
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-single-budget");
}
