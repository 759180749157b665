/*
 * test-take-blocks.c: blocks that other threads freed home to a thread that
 * has stopped allocating, in spans that still hold live objects, serve
 * another thread's mallocs before it carves fresh blocks (src/heap.c,
 * _hz3_heap_take_blocks): a server whose objects one thread makes and
 * others free (bench larson) carved fresh pages while the blocks freed
 * home sat on the making thread's spans, none of which came home whole
 * (test-home-span has the spans that do).
 *
 * The main thread makes N objects of each of two sizes, keeps every
 * KEEP-th one (written with a pattern: each span keeps some live) and stays
 * idle. Thread B frees the others (all home: B never allocates, so it
 * caches none) and ends. Thread C makes N objects of each size: most must
 * be blocks B freed, none a kept one. After C's first malloc of a size, a
 * second free of blocks B freed and C has not been handed, wherever they
 * are now (on their span's remote list or in C's block cache), is still
 * reported. While C holds its objects the census counts exactly the kept
 * and C's as live; after all are freed it is where it started and the
 * walker finds the segments consistent.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { N = 512, KEEP = 8, DOUBLE_CHECKS = 6 };
static const size_t sizes[] = {256, 2048};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void *made[NSIZES][N], *taken[NSIZES][N];
static unsigned hits[NSIZES], on_kept[NSIZES], double_reported[NSIZES], double_tried[NSIZES];
static struct hz3_snapshot base, holding;

static void *thread_b(void *arg)
{
    for (unsigned k = 0; k < NSIZES; k++)
        for (unsigned i = 0; i < N; i++)
            if (i % KEEP) free(made[k][i]);
    return arg;
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void *thread_c(void *arg)
{
    for (unsigned k = 0; k < NSIZES; k++) {
        void *sorted[N];
        memcpy(sorted, made[k], sizeof sorted);
        qsort(sorted, N, sizeof sorted[0], by_address);
        for (unsigned j = 0; j < N; j++) {
            taken[k][j] = malloc(sizes[k]);
            void **at = bsearch(&taken[k][j], sorted, N, sizeof sorted[0], by_address);
            if (at) {
                hits[k]++;
                for (unsigned i = 0; i < N; i += KEEP) on_kept[k] += *at == made[k][i];
            }
            memset(taken[k][j], 0xC5, sizes[k]);
            if (j != 0) continue;
            /* the blocks freed near the one handed out: likely taken with it */
            for (unsigned i = 0; i < N && double_tried[k] < DOUBLE_CHECKS; i++) {
                uintptr_t d = (uintptr_t)made[k][i] - (uintptr_t)taken[k][0];
                if (!(i % KEEP) || made[k][i] == taken[k][0] || (d > 8 * sizes[k] && -d > 8 * sizes[k])) continue;
                double_tried[k]++;
                double_reported[k] += t_free_aborts(made[k][i]);
            }
        }
    }
    t_snapshot(&holding);
    for (unsigned k = 0; k < NSIZES; k++)
        for (unsigned j = 0; j < N; j++) free(taken[k][j]);
    return arg;
}

static void *idle(void *arg) { return arg; }

int main(void)
{
    /* No epoch but those asked for: a timer epoch's decay or purge would
     * move spans and blocks on its own. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, idle, NULL) == 0);
    pthread_join(t, NULL);
    static struct hz3_snapshot ended;
    t_snapshot(&base);

    for (unsigned k = 0; k < NSIZES; k++)
        for (unsigned i = 0; i < N; i++) {
            made[k][i] = malloc(sizes[k]);
            memset(made[k][i], (int)(i % KEEP ? 0x11 : 0x7E), sizes[k]);
        }
    CHECK(pthread_create(&t, NULL, thread_b, NULL) == 0);
    pthread_join(t, NULL);
    CHECK(pthread_create(&t, NULL, thread_c, NULL) == 0);
    pthread_join(t, NULL);

    for (unsigned k = 0; k < NSIZES; k++) {
        int c = t_class_of(&base, sizes[k]);
        CHECK(c >= 0);
        if (c < 0) continue;
        /* all but those of the main thread's current span (not notified) */
        CHECK_MSG(hits[k] >= N / 2, "%zu B: %u of C's %d objects were blocks B freed home", sizes[k], hits[k], N);
        CHECK_MSG(on_kept[k] == 0, "%zu B: C was handed %u live objects", sizes[k], on_kept[k]);
        CHECK_MSG(double_tried[k] > 0 && double_reported[k] == double_tried[k],
                  "%zu B: %u of %u second frees of freed blocks reported", sizes[k], double_reported[k], double_tried[k]);
        CHECK_MSG(holding.classes[c].live_objects == base.classes[c].live_objects + N / KEEP + N,
                  "%zu B: live %llu while C held its objects, want %llu", sizes[k],
                  (unsigned long long)holding.classes[c].live_objects,
                  (unsigned long long)(base.classes[c].live_objects + N / KEEP + N));
        for (unsigned i = 0; i < N; i += KEEP) {
            const unsigned char *p = made[k][i];
            unsigned bad = 0;
            for (size_t b = 0; b < sizes[k]; b++) bad += p[b] != 0x7E;
            CHECK_MSG(bad == 0, "%zu B: kept object %u has %u bytes changed", sizes[k], i, bad);
            free(made[k][i]);
        }
    }

    /* the main thread's spans, less the blocks taken, still serve it */
    for (unsigned k = 0; k < NSIZES; k++) {
        for (unsigned i = 0; i < N; i++) made[k][i] = malloc(sizes[k]);
        for (unsigned i = 0; i < N; i++) free(made[k][i]);
    }
    CHECK(t_hz3()->validate() == 0);

    t_snapshot(&ended);
    for (unsigned k = 0; k < NSIZES; k++) {
        int c = t_class_of(&base, sizes[k]);
        if (c < 0) continue;
        CHECK_MSG(ended.classes[c].live_objects == base.classes[c].live_objects,
                  "%zu B: live %llu at the end, %llu at the start", sizes[k],
                  (unsigned long long)ended.classes[c].live_objects, (unsigned long long)base.classes[c].live_objects);
    }
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-take-blocks");
}
