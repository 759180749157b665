/*
 * suite.h - what the bench/suite programs share.
 *
 * Each program has the *shape* of one workload of the public allocator benchmark suites
 * (mimalloc-bench and the glibc malloc benchmarks): who allocates, what sizes, how many
 * threads, who frees. The code is our own. Every program
 *   - takes positional numeric arguments, all optional, documented at its top;
 *   - is deterministic in what it asks for (seeded splitmix64 from bench_core.h; only the
 *     interleaving of threads varies);
 *   - prints the MALLOC= lines of bench_core.h (run.sh checks the preload with them) and one
 *     line `RESULT bench=NAME threads=T secs=S ...`, S being the wall time of the work.
 */
#ifndef SUITE_H
#define SUITE_H

/* The suite takes bench_core.h's PRNG, clock and allocator report, not its churn engine. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../src/bench_core.h"
#pragma GCC diagnostic pop

#include <math.h>

/* Positional argument i (1-based) as a number, or def when it is absent; at least lo. */
static inline uint64_t suite_arg(int argc, char **argv, int i, uint64_t def, uint64_t lo)
{
    uint64_t v = i < argc ? bench_parse_u64(argv[i], "argument") : def;
    if (v < lo) {
        fprintf(stderr, "%s: argument %d must be at least %" PRIu64 ", got %" PRIu64 "\n",
                argv[0], i, lo, v);
        exit(2);
    }
    return v;
}

/* Runs fn on n threads, argument i being (char *)args + i * size; returns the wall time
 * from before the first start to after the last join (thread start-up is part of the work,
 * as it is in the suites' own timings). */
static inline double suite_run_threads(unsigned n, void *(*fn)(void *), void *args, size_t size)
{
    pthread_t *tids = calloc(n, sizeof *tids);
    if (!tids)
        bench_oom(n * sizeof *tids);
    double t0 = bench_now();
    for (unsigned i = 0; i < n; i++)
        if (pthread_create(&tids[i], NULL, fn, (char *)args + i * size) != 0) {
            fprintf(stderr, "suite: pthread_create failed\n");
            exit(4);
        }
    for (unsigned i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
    double secs = bench_now() - t0;
    free(tids);
    return secs;
}

static inline void *suite_malloc(size_t size)
{
    void *p = malloc(size);
    if (!p)
        bench_oom(size);
    return p;
}

/* A size of log-uniform distribution in [lo, hi]: as many 16-32 B requests as 8-16 KiB ones. */
/* The cache benchmarks' work: iters times, allocate an object of size bytes, write each of its
 * bytes reps times, free it. Where the objects of different threads share cache lines, the
 * writes bounce them between cores (false sharing induced by the allocator). */
static inline void suite_write_objects(uint64_t iters, size_t size, uint64_t reps)
{
    for (uint64_t i = 0; i < iters; i++) {
        volatile unsigned char *p = suite_malloc(size);
        for (uint64_t r = 0; r < reps; r++)
            for (size_t b = 0; b < size; b++)
                p[b]++;
        free((void *)p);
    }
}

static inline size_t suite_log_uniform(bench_rng *r, size_t lo, size_t hi)
{
    double u = (double)(bench_rng_next(r) >> 11) * 0x1.0p-53;
    size_t s = (size_t)((double)lo * pow((double)hi / (double)lo, u));
    return s < lo ? lo : s > hi ? hi : s;
}

#endif /* SUITE_H */
