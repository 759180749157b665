/*
 * test-bcache-budget.c: a thread's block caches hold at most its budget
 * of bytes across all classes together (src/bcache.c, HZ3_BCACHE_BUDGET),
 * however many classes it caches. Thread B allocates one object of every
 * shared class (small, sub4k, medium: up to 16 KiB), so that it caches
 * them all, then frees enough of this thread's objects of each class to
 * fill the class's own cache (128 KiB of the class, at least 8 and at most
 * 128 objects): each class alone fits, all together they are several MiB.
 * What B cached, its own mallocs of the class take back once its span runs
 * dry, before anything else (what it sent home through its batch is the
 * owner's again): B counts those, in bytes, taking as many objects as its
 * span and the cache can hold. When B ends, every object is back and the
 * census is where it started.
 */
#include <pthread.h>
#include <stdlib.h>
#include "test_util.h"

enum { BUDGET = 512 << 10 /* src/hz3_types.h, HZ3_BCACHE_BUDGET */, FILL = 128 << 10, MAX_SIZE = 16 << 10 };
enum { MAX_TAKE = 8192 };

static unsigned n_cls, cls_of[HZ3_CENSUS_CLASSES], n_of[HZ3_CENSUS_CLASSES], take_of[HZ3_CENSUS_CLASSES];
static size_t size_of[HZ3_CENSUS_CLASSES];
static void *objs[HZ3_CENSUS_CLASSES][128];
static void *own[HZ3_CENSUS_CLASSES];
/* one live object of this thread's beside each offered one: no span of
 * the offered objects comes home whole, to be taken by B as a new span
 * (src/heap.c, take_home_span), whose blocks B would count as cached */
static void *pins[HZ3_CENSUS_CLASSES][128];
static void *taken[MAX_TAKE];
static size_t cached_bytes;
static unsigned classes_cached;
static pthread_barrier_t done;

static void *thread_b(void *arg)
{
    for (unsigned k = 0; k < n_cls; k++) own[k] = malloc(size_of[k]);   /* it caches the class from now */
    for (unsigned k = 0; k < n_cls; k++)
        for (unsigned i = 0; i < n_of[k]; i++) free(objs[k][i]);
    for (unsigned k = 0; k < n_cls; k++) {
        unsigned hits = 0;
        for (unsigned j = 0; j < take_of[k]; j++) {
            taken[j] = malloc(size_of[k]);
            for (unsigned i = 0; i < n_of[k]; i++) hits += taken[j] == objs[k][i];
        }
        cached_bytes += hits * size_of[k];
        classes_cached += hits > 0;
        for (unsigned j = 0; j < take_of[k]; j++) free(taken[j]);
    }
    pthread_barrier_wait(&done);
    for (unsigned k = 0; k < n_cls; k++) free(own[k]);
    return arg;
}

int main(void)
{
    /* Only the epochs this test asks for. */
    t_quiet_threads();
    pthread_t t;
    static struct hz3_snapshot base, ended;
    t_snapshot(&base);
    size_t offered = 0;
    for (unsigned c = 0; c < base.num_classes; c++) {
        size_t size = base.classes[c].object_size;
        if (size == 0 || size > MAX_SIZE || base.classes[c].tier > HZ3_TIER_MEDIUM) continue;
        unsigned n = FILL / size;
        if (n < 8) n = 8;
        if (n > 128) n = 128;
        cls_of[n_cls] = c;
        size_of[n_cls] = size;
        n_of[n_cls] = n;
        /* B's span (at most a span of the class), then its cache */
        take_of[n_cls] = base.classes[c].span_pages * 4096u / (unsigned)size + n;
        CHECK(take_of[n_cls] <= MAX_TAKE);
        if (take_of[n_cls] > MAX_TAKE) take_of[n_cls] = MAX_TAKE;
        for (unsigned i = 0; i < n; i++) {
            objs[n_cls][i] = malloc(size);
            pins[n_cls][i] = malloc(size);
        }
        offered += n * size;
        n_cls++;
    }
    CHECK_MSG(offered > 2 * (size_t)BUDGET, "B is offered %zu bytes, not past twice the budget %d", offered, BUDGET);

    pthread_barrier_init(&done, NULL, 2);
    CHECK(pthread_create(&t, NULL, thread_b, NULL) == 0);
    pthread_barrier_wait(&done);
    CHECK_MSG(cached_bytes <= BUDGET, "B cached %zu bytes in %u classes, past its budget of %d", cached_bytes,
              classes_cached, BUDGET);
    CHECK_MSG(cached_bytes >= BUDGET / 2, "B cached only %zu bytes of its budget of %d", cached_bytes, BUDGET);
    CHECK(t_hz3()->validate() == 0);

    /* B ends: everything goes home, and the census is where it started. */
    pthread_join(t, NULL);
    for (unsigned k = 0; k < n_cls; k++)
        for (unsigned i = 0; i < n_of[k]; i++) free(pins[k][i]);
    t_snapshot(&ended);
    for (unsigned k = 0; k < n_cls; k++) {
        unsigned c = cls_of[k];
        CHECK_MSG(ended.classes[c].live_objects == base.classes[c].live_objects,
                  "class of %zu B: live %llu after B ended, expected %llu", size_of[k],
                  (unsigned long long)ended.classes[c].live_objects,
                  (unsigned long long)(base.classes[c].live_objects));
    }
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-bcache-budget");
}
