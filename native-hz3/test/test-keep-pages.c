/*
 * test-keep-pages.c: the empty spans a thread keeps for reuse are bounded
 * by pages for all its classes together (src/span.c, keep_empty;
 * HZ3_EMPTY_KEEP_PAGES, 64), not per class: a thread that makes and frees
 * a run of one size keeps every span of it up to the bound (glibc_simple:
 * 1600 blocks of 128 B, 50 pages, given to the pool and taken back every
 * round under a bound of 16 pages a class), and one that empties many
 * classes at once keeps no more than the bound and a span of each.
 *
 * Thread B, its census read by this thread between its steps:
 *   1. makes RUN spans' worth of 128 B blocks (one page each) and frees
 *      them in order: every span is still the class's (kept, current, or
 *      holding blocks of B's block cache);
 *   2. a purge gives the kept ones back (their count with them), and the
 *      same run again keeps every span again;
 *   3. makes MANY spans' worth of each of eight classes of 16-128 B, all
 *      live together, and frees them: the eight classes hold at most the
 *      bound, one kept span, the current one and the block cache's spans
 *      each (a bound of 16 pages a class kept 128).
 * When B ends everything goes back and the census is where it started.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { PAGE = 4096, KEEP = 64 /* src/hz3_types.h, HZ3_EMPTY_KEEP_PAGES */, RUN = 48, MANY = 40, NCLS = 8 };
enum { RUN_N = RUN * (PAGE / 128) };

static void *run[RUN_N];
static void **many[NCLS];
static unsigned many_n[NCLS];
static pthread_barrier_t step;

static void make_and_free(size_t size, unsigned n)
{
    for (unsigned i = 0; i < n; i++) memset(run[i] = malloc(size), 1, size);
    for (unsigned i = 0; i < n; i++) free(run[i]);
}

static void *thread_b(void *arg)
{
    make_and_free(128, RUN_N);
    pthread_barrier_wait(&step);   /* 1: read */
    pthread_barrier_wait(&step);   /* purged */
    make_and_free(128, RUN_N);
    pthread_barrier_wait(&step);   /* 2: read */
    pthread_barrier_wait(&step);
    for (unsigned k = 0; k < NCLS; k++)
        for (unsigned i = 0; i < many_n[k]; i++) memset(many[k][i] = malloc(16 * (k + 1)), 2, 16 * (k + 1));
    for (unsigned k = 0; k < NCLS; k++)
        for (unsigned i = 0; i < many_n[k]; i++) free(many[k][i]);
    pthread_barrier_wait(&step);   /* 3: read */
    pthread_barrier_wait(&step);
    return arg;
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    t_quiet_threads();
    static struct hz3_snapshot base, snap, ended;
    t_snapshot(&base);
    int cls[NCLS];
    /* the spans B's block caches hold blocks of: 128 blocks at most
     * (HZ3_BCACHE_MAX), the first ones it freed */
    uint64_t slack = 0;
    for (unsigned k = 0; k < NCLS; k++) {
        size_t size = 16 * (k + 1);
        cls[k] = t_class_of(&base, size);
        CHECK_MSG(cls[k] >= 0 && base.classes[cls[k]].span_pages == 1, "class of %zu B: %d, span of %u pages", size,
                  cls[k], cls[k] >= 0 ? base.classes[cls[k]].span_pages : 0);
        if (cls[k] < 0) return t_finish("test-keep-pages");
        many_n[k] = MANY * (PAGE / (unsigned)size);
        CHECK((many[k] = malloc(many_n[k] * sizeof(void *))) != NULL);
        slack += (128 * size + PAGE - 1) / PAGE + 1;
    }
    int c128 = cls[NCLS - 1];
    uint64_t before = t_class_pages(&base, c128);

    pthread_barrier_init(&step, NULL, 2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_b, NULL) == 0);

    /* 1: every span of the run is still the class's (a bound of 16 pages
     * a class gave back all but 16, the current one and the cache's) */
    pthread_barrier_wait(&step);
    uint64_t held = t_class_pages(t_snapshot(&snap), c128) - before;
    CHECK_MSG(held >= RUN, "%llu pages of 128 B blocks after a run of %d pages, expected all of them",
              (unsigned long long)held, RUN);
    CHECK_MSG(snap.classes[c128].live_objects <= base.classes[c128].live_objects, "live 128 B blocks %llu, before %llu",
              (unsigned long long)snap.classes[c128].live_objects, (unsigned long long)base.classes[c128].live_objects);

    /* 2: a purge gives them back, and takes their count off the bound:
     * the same run keeps them all again */
    hz->purge_now();
    uint64_t purged = t_class_pages(t_snapshot(&snap), c128) - before;
    CHECK_MSG(purged <= 8, "%llu pages of 128 B blocks left after a purge", (unsigned long long)purged);
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step);
    held = t_class_pages(t_snapshot(&snap), c128) - before;
    CHECK_MSG(held >= RUN, "%llu pages of 128 B blocks after the purge and a second run of %d pages, expected all",
              (unsigned long long)held, RUN);

    /* 3: eight classes emptied together hold the bound in all, with a
     * kept span, the current one and the cache's spans of each */
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step);
    t_snapshot(&snap);
    uint64_t total = 0;
    for (unsigned k = 0; k < NCLS; k++) total += t_class_pages(&snap, cls[k]) - t_class_pages(&base, cls[k]);
    uint64_t bound = KEEP + 2 * NCLS + slack;
    CHECK_MSG(total <= bound, "%llu pages in the %d classes after each emptied %d pages, expected at most %llu",
              (unsigned long long)total, NCLS, MANY, (unsigned long long)bound);
    CHECK(hz->validate() == 0);
    pthread_barrier_wait(&step);
    pthread_join(t, NULL);

    /* B ended: its spans went back, and the census is where it started. */
    t_snapshot(&ended);
    for (unsigned k = 0; k < NCLS; k++) {
        int c = cls[k];
        CHECK_MSG(ended.classes[c].live_objects == base.classes[c].live_objects, "class of %u B: live %llu, before %llu",
                  16 * (k + 1), (unsigned long long)ended.classes[c].live_objects,
                  (unsigned long long)base.classes[c].live_objects);
        free(many[k]);
    }
    pthread_barrier_destroy(&step);
    CHECK(hz->validate() == 0);
    return t_finish("test-keep-pages");
}
