/*
 * test-home-span.c: a span whose every block came home through other
 * threads' frees, which its owner has not collected, serves another
 * thread that needs a span of the class (src/heap.c, take_home_span), as
 * a server whose objects one thread makes and others free (bench larson)
 * needs: there the making thread stopped allocating, its spans filled with
 * the blocks sent home, and the freeing threads carved fresh pages.
 *
 * The main thread makes N objects of each of two sizes, keeps every
 * KEEP-th one and its span live (written with a pattern), and stays idle
 * from then on. Thread B frees the others (all home: B has never
 * allocated, so it caches none) and ends. Thread C makes N objects of each
 * size: most of them must be the blocks B freed, in the main thread's
 * spans that hold nothing live; none may be a kept object, whose patterns
 * stay intact. When C has freed its objects and ended and the main thread
 * its kept ones, the main thread makes and frees N more of each, the census
 * is where it started and the walker finds the segments consistent.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { N = 512, KEEP = 128 };
static const size_t sizes[] = {256, 2048};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void *made[NSIZES][N];
static unsigned hits[NSIZES], on_kept[NSIZES];

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
    static void *taken[N];
    for (unsigned k = 0; k < NSIZES; k++) {
        void *sorted[N];
        memcpy(sorted, made[k], sizeof sorted);
        qsort(sorted, N, sizeof sorted[0], by_address);
        for (unsigned j = 0; j < N; j++) {
            taken[j] = malloc(sizes[k]);
            memset(taken[j], 0xC5, sizes[k]);
            void **at = bsearch(&taken[j], sorted, N, sizeof sorted[0], by_address);
            if (at) {
                hits[k]++;
                for (unsigned i = 0; i < N; i += KEEP) on_kept[k] += *at == made[k][i];
            }
        }
        for (unsigned j = 0; j < N; j++) free(taken[j]);
    }
    return arg;
}

static void *idle(void *arg) { return arg; }

int main(void)
{
    /* No epoch but those asked for: a timer epoch's decay or purge would
     * move spans on its own. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, idle, NULL) == 0);
    pthread_join(t, NULL);
    static struct hz3_snapshot base, ended;
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
        /* all but the spans holding a kept object, the current one among them */
        CHECK_MSG(hits[k] >= N / 2, "%zu B: %u of C's %d objects were blocks B freed home", sizes[k], hits[k], N);
        CHECK_MSG(on_kept[k] == 0, "%zu B: C was handed %u live objects", sizes[k], on_kept[k]);
        for (unsigned i = 0; i < N; i += KEEP) {
            const unsigned char *p = made[k][i];
            unsigned bad = 0;
            for (size_t b = 0; b < sizes[k]; b++) bad += p[b] != 0x7E;
            CHECK_MSG(bad == 0, "%zu B: kept object %u has %u bytes changed", sizes[k], i, bad);
            free(made[k][i]);
        }
    }

    /* the main thread's lists, less the spans taken, still serve it */
    for (unsigned k = 0; k < NSIZES; k++) {
        for (unsigned i = 0; i < N; i++) made[k][i] = malloc(sizes[k]);
        for (unsigned i = 0; i < N; i++) free(made[k][i]);
    }
    CHECK(t_hz3()->validate() == 0);

    t_snapshot(&ended);
    for (unsigned k = 0; k < NSIZES; k++) {
        int c = t_class_of(&base, sizes[k]);
        CHECK(c >= 0);
        if (c < 0) continue;
        CHECK_MSG(ended.classes[c].live_objects == base.classes[c].live_objects,
                  "%zu B: live %llu at the end, %llu at the start", sizes[k],
                  (unsigned long long)ended.classes[c].live_objects, (unsigned long long)base.classes[c].live_objects);
    }
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-home-span");
}
