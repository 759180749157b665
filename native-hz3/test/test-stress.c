/*
 * test-stress.c: THREADS SCALE ROUNDS. Each round starts THREADS threads
 * (thread churn) that allocate objects of every tier, fill each with a
 * pattern derived from its address and size, check the pattern before
 * freeing, and pass a share of their objects to the other threads through
 * a shared exchange, so that many frees are cross-thread. Deterministic
 * per thread; exits non-zero on the first corrupted object.
 *
 * Built twice: preloaded-hz3 (plain names) and under ThreadSanitizer
 * against hz3 compiled in as hz3t_malloc/hz3t_free (HZ3_STRESS_PREFIXED).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#ifdef HZ3_STRESS_PREFIXED
void *hz3t_malloc(size_t);
void hz3t_free(void *);
void *hz3t_realloc(void *, size_t);
#define MALLOC hz3t_malloc
#define FREE hz3t_free
#define REALLOC hz3t_realloc
#define SNAPSHOT hz3_obs_snapshot
#define PURGE hz3_purge_now
#define VALIDATE hz3_debug_validate
#else
#define MALLOC malloc
#define FREE free
#define REALLOC realloc
#define SNAPSHOT t_hz3()->snapshot
#define PURGE t_hz3()->purge_now
#define VALIDATE t_hz3()->validate
#endif

#define SLOTS 512
#define EXCHANGE 4096

/* Objects carry their size in their first word, so any thread can check
 * and free one it receives through the exchange. */
static _Atomic(uintptr_t) exchange[EXCHANGE];
static int scale = 1;
static _Atomic int corrupt;

static size_t pick_size(uint64_t *r)
{
    uint64_t x = t_rand(r) % 1000;
    if (x < 700) return 16 + t_rand(r) % 240;         /* small */
    if (x < 900) return 257 + t_rand(r) % 3500;       /* small and sub4k */
    if (x < 990) return 3585 + t_rand(r) % 29000;     /* medium */
    return 32769 + t_rand(r) % 300000;                /* large */
}

static unsigned char pattern(const unsigned char *p, size_t n, size_t i)
{
    return (unsigned char)(((uintptr_t)p >> 4) ^ n ^ (i * 7));
}

/* Large objects are checked on a sample of bytes (still every page). */
static size_t step_of(size_t n) { return n > 4096 ? 61 : 1; }

static void *stamp(unsigned char *p, size_t n)
{
    memcpy(p, &n, sizeof n);
    for (size_t i = sizeof n; i < n; i += step_of(n)) p[i] = pattern(p, n, i);
    p[n - 1] = pattern(p, n, n - 1);
    return p;
}

static void *make(size_t n)
{
    unsigned char *p = MALLOC(n);
    if (!p) abort();
    return stamp(p, n);
}

static bool intact(const unsigned char *p)
{
    size_t n;
    memcpy(&n, p, sizeof n);
    for (size_t i = sizeof n; i < n; i += step_of(n))
        if (p[i] != pattern(p, n, i)) return false;
    return p[n - 1] == pattern(p, n, n - 1);
}

static void check_free(void *p)
{
    if (!intact(p)) atomic_store(&corrupt, 1);
    FREE(p);
}

static void *worker(void *arg)
{
    uint64_t r = (uint64_t)(uintptr_t)arg * 0x1234567ull + 99;
    void *slot[SLOTS] = { 0 };
    long iters = 20000L * scale;
    for (long it = 0; it < iters; it++) {
        unsigned i = (unsigned)(t_rand(&r) % SLOTS);
        if (!slot[i]) {
            slot[i] = make(pick_size(&r));
            continue;
        }
        uint64_t what = t_rand(&r) % 10;
        if (what < 3) {
            /* trade: ours goes out, whatever was there (often another
             * thread's, maybe one that has ended) is checked and freed here */
            uintptr_t got = atomic_exchange(&exchange[t_rand(&r) % EXCHANGE], (uintptr_t)slot[i]);
            if (got) check_free((void *)got);
        } else if (what == 3) {
            /* realloc keeps the contents up to the smaller size */
            unsigned char *p = slot[i];
            if (!intact(p)) atomic_store(&corrupt, 1);
            size_t old_n, n = pick_size(&r);
            memcpy(&old_n, p, sizeof old_n);
            unsigned char *q = REALLOC(p, n);
            if (!q) abort();
            size_t keep = n < old_n ? n : old_n;
            for (size_t k = sizeof old_n; k < keep; k += step_of(old_n))
                if (q[k] != pattern(p, old_n, k)) atomic_store(&corrupt, 1);
            slot[i] = stamp(q, n);
            continue;
        } else {
            check_free(slot[i]);
        }
        slot[i] = NULL;
    }
    for (unsigned i = 0; i < SLOTS; i++)
        if (slot[i]) check_free(slot[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    scale = argc > 2 ? atoi(argv[2]) : 1;
    int rounds = argc > 3 ? atoi(argv[3]) : 4;
    for (int round = 0; round < rounds; round++) {
        pthread_t t[64];
        for (int i = 0; i < threads && i < 64; i++)
            CHECK(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(round * 64 + i + 1)) == 0);
        /* the census, and purges that take every heap's empty spans, run
         * while the workers allocate and free */
        static struct hz3_snapshot snap;
        for (int k = 0; k < 3; k++) {
            snap.size = sizeof snap;
            CHECK(SNAPSHOT(&snap) == 0);
            CHECK(snap.tier[HZ3_TIER_SMALL].pages_total > 0);
            PURGE();
        }
        for (int i = 0; i < threads && i < 64; i++) pthread_join(t[i], NULL);
    }
    for (unsigned e = 0; e < EXCHANGE; e++) {
        uintptr_t got = atomic_exchange(&exchange[e], 0);
        if (got) check_free((void *)got);
    }
    CHECK(atomic_load(&corrupt) == 0);
    CHECK(VALIDATE() == 0);
    return t_finish("test-stress");
}
