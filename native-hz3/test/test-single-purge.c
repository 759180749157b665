/*
 * test-single-purge.c: purges from another thread while threads churn
 * singles (20-32 KiB objects, one per span) through their caches never
 * lose an object nor hand one out twice. A thread's cache hits take no
 * lock (single.c, the guard): a purger that took a span out of a cache
 * while its owner popped it would hand its pages to the pool while the
 * owner hands them to the program, and the next malloc that takes them
 * overwrites a live object.
 *
 * Each live object carries its own pattern at its start, its end and on
 * every page; a free checks it first. One thread churns singles on its
 * own; another frees the singles a third one allocates (remote frees go
 * into the freeing thread's cache, which its own mallocs then reuse).
 * A fourth purges (hz3_purge_now) all the time. At the end the invariant
 * walker finds every span where its lists say it is. Also run under
 * ThreadSanitizer against hz3 compiled in under prefixed names
 * (HZ3_STRESS_PREFIXED, as tsan-stress), where the guard's fences are the
 * ones TSan models.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "test_util.h"

#ifdef HZ3_STRESS_PREFIXED
void *hz3t_malloc(size_t);
void hz3t_free(void *);
#define MALLOC hz3t_malloc
#define FREE hz3t_free
#define PURGE hz3_purge_now
#define VALIDATE hz3_debug_validate
#else
#define MALLOC malloc
#define FREE free
#define PURGE t_hz3()->purge_now
#define VALIDATE t_hz3()->validate
#endif

enum {
    SLOTS = 48,          /* live objects a churning thread holds: about its cache's bound */
    RUN_MS = 1500,       /* churn time per thread */
    RING = 64,           /* objects in flight from the allocating thread to the freeing one */
    MIN = 16385, MAX = 32768,
};

static atomic_bool stop;
static atomic_ulong errors, purges, ops;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The pattern of one object: a word unique to it on every page and at
 * both ends. */
static void fill(uint64_t *p, size_t size, uint64_t v)
{
    size_t words = size / 8;
    for (size_t i = 0; i < words - 1; i += 512) p[i] = v + i;
    p[1] = v;
    p[words - 1] = ~v;
}
static bool intact(const uint64_t *p, size_t size, uint64_t v)
{
    size_t words = size / 8;
    for (size_t i = 0; i < words - 1; i += 512)
        if (p[i] != v + i) return false;
    return p[1] == v && p[words - 1] == ~v;
}

typedef struct {
    uint64_t *p;
    size_t size;
    uint64_t v;
} obj_t;

static obj_t make(uint64_t *seed, uint64_t tag)
{
    obj_t o;
    o.size = MIN + t_rand(seed) % (MAX - MIN + 1);
    o.p = MALLOC(o.size);
    o.v = (tag << 40) ^ t_rand(seed) << 8;
    if (!o.p) {
        atomic_fetch_add(&errors, 1);
        return o;
    }
    fill(o.p, o.size & ~(size_t)7, o.v);
    return o;
}
static void drop(obj_t *o)
{
    if (!o->p) return;
    if (!intact(o->p, o->size & ~(size_t)7, o->v)) {
        if (atomic_fetch_add(&errors, 1) < 5) fprintf(stderr, "object %p (%zu B) overwritten while live\n", (void *)o->p, o->size);
    }
    FREE(o->p);
    o->p = NULL;
}

/* Random mallocs and frees over SLOTS slots: the cache hits and misses,
 * overflows into the depot, takes from it. */
static void churn(obj_t *slot, uint64_t *seed, uint64_t tag)
{
    unsigned k = (unsigned)(t_rand(seed) % SLOTS);
    if (slot[k].p) drop(&slot[k]);
    else slot[k] = make(seed, tag);
    atomic_fetch_add_explicit(&ops, 1, memory_order_relaxed);
}

static void *local_churner(void *arg)
{
    obj_t slot[SLOTS] = { 0 };
    uint64_t seed = 1, end = now_ms() + RUN_MS;
    while (now_ms() < end)
        for (int i = 0; i < 256; i++) churn(slot, &seed, 1);
    for (unsigned k = 0; k < SLOTS; k++) drop(&slot[k]);
    return NULL;
}

/* The allocating end of the handoff: a single-producer ring. */
static obj_t ring[RING];
static atomic_uint ring_head, ring_tail;   /* head: next to fill; tail: next to take */
static atomic_bool producer_done;

static void *producer(void *arg)
{
    uint64_t seed = 2, end = now_ms() + RUN_MS;
    while (now_ms() < end) {
        unsigned h = atomic_load_explicit(&ring_head, memory_order_relaxed);
        if (h - atomic_load_explicit(&ring_tail, memory_order_acquire) == RING) {
            sched_yield();
            continue;
        }
        ring[h % RING] = make(&seed, 2);
        atomic_store_explicit(&ring_head, h + 1, memory_order_release);
    }
    atomic_store(&producer_done, true);
    return NULL;
}

/* Frees the producer's objects (into this thread's cache) and churns its
 * own, which the cache then serves. */
static void *consumer(void *arg)
{
    obj_t slot[SLOTS] = { 0 };
    uint64_t seed = 3;
    for (;;) {
        unsigned t = atomic_load_explicit(&ring_tail, memory_order_relaxed);
        if (t == atomic_load_explicit(&ring_head, memory_order_acquire)) {
            if (atomic_load(&producer_done) && t == atomic_load(&ring_head)) break;
            sched_yield();
            continue;
        }
        obj_t o = ring[t % RING];
        atomic_store_explicit(&ring_tail, t + 1, memory_order_release);
        drop(&o);
        churn(slot, &seed, 3);
    }
    for (unsigned k = 0; k < SLOTS; k++) drop(&slot[k]);
    return NULL;
}

static void *purger(void *arg)
{
    while (!atomic_load(&stop)) {
        PURGE();
        atomic_fetch_add(&purges, 1);
    }
    return NULL;
}

int main(void)
{
#ifndef HZ3_STRESS_PREFIXED
    t_hz3();
#endif
    pthread_t p, a, b, c;
    pthread_create(&p, NULL, purger, NULL);
    pthread_create(&a, NULL, local_churner, NULL);
    pthread_create(&b, NULL, producer, NULL);
    pthread_create(&c, NULL, consumer, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_join(c, NULL);
    atomic_store(&stop, true);
    pthread_join(p, NULL);

    printf("%lu mallocs and frees, %lu purges\n", atomic_load(&ops), atomic_load(&purges));
    CHECK_MSG(atomic_load(&errors) == 0, "%lu objects lost or handed out twice", atomic_load(&errors));
    /* some of each at least, even on a loaded machine */
    CHECK(atomic_load(&purges) >= 10);
    CHECK(atomic_load(&ops) >= 10000);
    CHECK_MSG(VALIDATE() == 0, "the invariant walker found spans out of place");
    return t_finish("test-single-purge");
}
