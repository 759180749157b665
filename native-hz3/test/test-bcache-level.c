/*
 * test-bcache-level.c: a thread that allocates many classes at once gets
 * a block cache for each of them within its budget (src/bcache.c,
 * _hz3_bcache_arm's levelling), as a server freeing and allocating
 * objects of 16 B-4 KiB at random (bench larson) needs: there, the
 * classes armed first took the budget, the small ones at up to 128
 * blocks, and the 1-4 KiB classes armed last were left with no cache, so
 * that every free of theirs went home through the remote batch.
 *
 * Thread B allocates one object of every class up to 4 KiB, smallest
 * first (which arms each class's cache), then, class by class, frees
 * DEPTH objects that this thread made and allocates DEPTH objects: a class
 * with a cache of at least DEPTH blocks hands back the objects just freed
 * (malloc pops the cache first, hz3_hot.h). When B ends, every object is
 * back and the census is where it started.
 */
#include <pthread.h>
#include <stdlib.h>
#include "test_util.h"

enum { DEPTH = 8, MAX_SIZE = 4096 };

static unsigned n_cls, cls_of[HZ3_CENSUS_CLASSES];
static size_t size_of[HZ3_CENSUS_CLASSES];
static void *objs[HZ3_CENSUS_CLASSES][DEPTH];
static void *own[HZ3_CENSUS_CLASSES];
static unsigned hits_of[HZ3_CENSUS_CLASSES];

static void *thread_b(void *arg)
{
    for (unsigned k = 0; k < n_cls; k++) own[k] = malloc(size_of[k]);
    for (unsigned k = 0; k < n_cls; k++) {
        void *taken[DEPTH];
        for (unsigned i = 0; i < DEPTH; i++) free(objs[k][i]);
        for (unsigned j = 0; j < DEPTH; j++) {
            taken[j] = malloc(size_of[k]);
            for (unsigned i = 0; i < DEPTH; i++) hits_of[k] += taken[j] == objs[k][i];
        }
        for (unsigned j = 0; j < DEPTH; j++) free(taken[j]);
    }
    for (unsigned k = 0; k < n_cls; k++) free(own[k]);
    return arg;
}

int main(void)
{
    /* Only the epochs this test asks for: a flush would disarm the caches. */
    t_quiet_threads();
    pthread_t t;
    static struct hz3_snapshot base, ended;
    t_snapshot(&base);
    n_cls = t_classes_upto(&base, MAX_SIZE, cls_of, size_of);
    for (unsigned k = 0; k < n_cls; k++)
        for (unsigned i = 0; i < DEPTH; i++) objs[k][i] = malloc(size_of[k]);
    CHECK_MSG(n_cls >= 20, "only %u classes up to %d B", n_cls, MAX_SIZE);

    CHECK(pthread_create(&t, NULL, thread_b, NULL) == 0);
    pthread_join(t, NULL);
    unsigned cached = 0;
    for (unsigned k = 0; k < n_cls; k++) {
        cached += hits_of[k] == DEPTH;
        CHECK_MSG(hits_of[k] == DEPTH, "class of %zu B: %u of the %d objects B freed came back from its cache",
                  size_of[k], hits_of[k], DEPTH);
    }
    if (cached < n_cls) fprintf(stderr, "%u of %u classes cached\n", cached, n_cls);

    /* B ended: everything went home, and the census is where it started. */
    t_snapshot(&ended);
    for (unsigned k = 0; k < n_cls; k++) {
        unsigned c = cls_of[k];
        CHECK_MSG(ended.classes[c].live_objects == base.classes[c].live_objects,
                  "class of %zu B: live %llu after B ended, expected %llu", size_of[k],
                  (unsigned long long)ended.classes[c].live_objects,
                  (unsigned long long)base.classes[c].live_objects);
    }
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-bcache-level");
}
