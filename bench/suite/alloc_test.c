/*
 * alloc_test - the shape of ITHare's alloc-test as mimalloc-bench runs it (alloc-test1,
 * alloc-testN): each thread keeps a working set of WS objects and replaces random ones,
 * with a Pareto size distribution up to 1 KiB (most objects a few dozen bytes, a long tail),
 * writing each new object and reading each one before it is freed. No object crosses threads.
 *
 *   alloc_test [THREADS ITERS WS]     default 1 5000000 65536
 *
 * Sizes: 8 / u (u uniform in (0, 1]), so P(size > s) = 8 / s, capped at 1024 B; the mean is
 * about 45 B and a working set of 65536 holds about 3 MiB, more than the caches. ITERS
 * replacements per thread (a free and a malloc each); filling and emptying the set are timed too.
 */
#include "suite.h"

#define MAX_SIZE 1024

typedef struct {
    uint64_t iters;
    uint32_t ws;
    unsigned idx;
    uint64_t checksum;
} worker;

static size_t pareto(bench_rng *r)
{
    double u = (double)((bench_rng_next(r) >> 11) + 1) * 0x1.0p-53;
    double s = 8.0 / u;
    return s > MAX_SIZE ? MAX_SIZE : (size_t)s;
}

static unsigned char *make(bench_rng *r)
{
    size_t size = pareto(r);
    unsigned char *p = suite_malloc(size);
    p[0] = (unsigned char)size;
    p[size - 1] = (unsigned char)(size >> 8);
    return p;
}

static void *work(void *a)
{
    worker *w = a;
    bench_rng r = {bench_thread_seed(0x12345678, w->idx)};
    unsigned char **set = suite_malloc(w->ws * sizeof *set);
    for (uint32_t s = 0; s < w->ws; s++)
        set[s] = make(&r);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < w->iters; i++) {
        uint32_t s = bench_below((uint32_t)(bench_rng_next(&r) >> 32), w->ws);
        sum += set[s][0];
        free(set[s]);
        set[s] = make(&r);
    }
    for (uint32_t s = 0; s < w->ws; s++)
        free(set[s]);
    free(set);
    w->checksum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned threads = (unsigned)suite_arg(argc, argv, 1, 1, 1);
    uint64_t iters = suite_arg(argc, argv, 2, 5000000, 1);
    uint32_t ws = (uint32_t)suite_arg(argc, argv, 3, 65536, 1);
    bench_report_malloc();

    worker *workers = suite_malloc(threads * sizeof *workers);
    for (unsigned t = 0; t < threads; t++)
        workers[t] = (worker){.iters = iters, .ws = ws, .idx = t};
    double secs = suite_run_threads(threads, work, workers, sizeof *workers);
    uint64_t sum = 0;
    for (unsigned t = 0; t < threads; t++)
        sum += workers[t].checksum;
    free(workers);
    printf("RESULT bench=alloc_test threads=%u iters=%" PRIu64 " ws=%u checksum=%" PRIu64
           " secs=%.6f\n", threads, iters, ws, sum, secs);
    return 0;
}
