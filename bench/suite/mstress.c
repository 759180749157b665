/*
 * mstress - the shape of mimalloc's stress test as mimalloc-bench runs it (mstress): threads
 * allocate objects of sizes spread over powers of two, a few of them large and very large,
 * fill their first words and check them again when they are freed; objects pass between
 * threads through a shared transfer array; every round all threads end and new ones start,
 * and what sits in the transfer array lives on into the next round.
 *
 *   mstress [THREADS ROUNDS STEPS]     default 4 10 100000
 *
 * Each step of a thread: 50% put a new object into a random slot of its own 4096 (freeing
 * what was there), 20% free a random own slot, 30% swap a random own slot with a random
 * slot of the 1024-entry transfer array (so the swapped-in object is freed, later, by a
 * thread that did not make it). Sizes: 8 << k plus up to as much again, k uniform in 0..7
 * (8 B-2 KiB); 1 in 100 is 64 times that (to 128 KiB), 1 in 10,000 1024 times (to 2 MiB).
 * Seeds depend on round and thread only; which thread frees what depends on scheduling.
 */
#include "suite.h"

#define OWN 4096
#define TRANSFER 1024
#define FILLED 8 /* words written at malloc and checked at free */

static _Atomic(uintptr_t) transfer[TRANSFER];

typedef struct {
    uint64_t steps;
    unsigned idx, round;
} worker;

static size_t pick_size(bench_rng *r)
{
    uint64_t x = bench_rng_next(r);
    size_t size = (size_t)8 << (x & 7);
    size += (x >> 3) % size;
    if ((x >> 32) % 100 == 0)
        size *= 64;
    else if ((x >> 32) % 10000 == 1)
        size *= 1024;
    return size;
}

static uintptr_t *make(bench_rng *r)
{
    size_t size = pick_size(r);
    uintptr_t *p = suite_malloc(size);
    size_t words = size / sizeof *p < FILLED ? size / sizeof *p : FILLED;
    p[0] = words;
    for (size_t i = 1; i < words; i++)
        p[i] = (uintptr_t)p ^ i;
    return p;
}

static void check_free(uintptr_t *p)
{
    if (!p)
        return;
    for (size_t i = 1; i < p[0]; i++)
        if (p[i] != ((uintptr_t)p ^ i)) {
            fprintf(stderr, "mstress: object %p word %zu changed while it was live\n", (void *)p, i);
            exit(5);
        }
    free(p);
}

static void *work(void *a)
{
    worker *w = a;
    bench_rng r = {bench_thread_seed(0x12345678 + w->round, w->idx)};
    uintptr_t **own = calloc(OWN, sizeof *own);
    if (!own)
        bench_oom(OWN * sizeof *own);
    for (uint64_t i = 0; i < w->steps; i++) {
        uint64_t x = bench_rng_next(&r);
        unsigned op = (unsigned)(x % 100);
        uint32_t k = bench_below((uint32_t)(x >> 32), OWN);
        if (op < 50) {
            check_free(own[k]);
            own[k] = make(&r);
        } else if (op < 70) {
            check_free(own[k]);
            own[k] = NULL;
        } else {
            uint32_t j = bench_below((uint32_t)bench_rng_next(&r), TRANSFER);
            own[k] = (uintptr_t *)atomic_exchange(&transfer[j], (uintptr_t)own[k]);
        }
    }
    for (uint32_t k = 0; k < OWN; k++)
        check_free(own[k]);
    free(own);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned threads = (unsigned)suite_arg(argc, argv, 1, 4, 1);
    uint64_t rounds = suite_arg(argc, argv, 2, 10, 1);
    uint64_t steps = suite_arg(argc, argv, 3, 100000, 1);
    bench_report_malloc();

    worker *workers = suite_malloc(threads * sizeof *workers);
    double secs = 0;
    for (unsigned round = 0; round < rounds; round++) {
        for (unsigned t = 0; t < threads; t++)
            workers[t] = (worker){.steps = steps, .idx = t, .round = round};
        secs += suite_run_threads(threads, work, workers, sizeof *workers);
    }
    double t0 = bench_now();
    for (unsigned j = 0; j < TRANSFER; j++)
        check_free((uintptr_t *)atomic_load(&transfer[j]));
    secs += bench_now() - t0;
    free(workers);
    printf("RESULT bench=mstress threads=%u rounds=%" PRIu64 " steps=%" PRIu64 " secs=%.6f\n",
           threads, rounds, steps, secs);
    return 0;
}
