/*
 * cache_scratch - the shape of Berger's cache-scratch (Hoard's benchmarks; mimalloc-bench's
 * cache-scratchN): passive false sharing. The main thread mallocs one small object per worker,
 * so they likely share a cache line, and hands one to each worker. Each worker frees it and
 * then, ITERS times, mallocs an object of the same size, writes every byte of it REPS times
 * and frees it. An allocator that gives a worker back the block it just freed (made by the
 * main thread, next to the other workers' blocks) makes the workers write to one cache line.
 *
 *   cache_scratch [THREADS ITERS OBJSIZE REPS]     default 2 1000 8 20000
 */
#include "suite.h"

typedef struct {
    void *first;
    uint64_t iters, reps;
    size_t size;
} worker;

static void *work(void *a)
{
    worker *w = a;
    free(w->first);
    suite_write_objects(w->iters, w->size, w->reps);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned threads = (unsigned)suite_arg(argc, argv, 1, 2, 1);
    uint64_t iters = suite_arg(argc, argv, 2, 1000, 1);
    size_t size = (size_t)suite_arg(argc, argv, 3, 8, 1);
    uint64_t reps = suite_arg(argc, argv, 4, 20000, 1);
    bench_report_malloc();

    worker *workers = suite_malloc(threads * sizeof *workers);
    for (unsigned t = 0; t < threads; t++)
        workers[t] = (worker){.first = suite_malloc(size), .iters = iters, .reps = reps, .size = size};
    double secs = suite_run_threads(threads, work, workers, sizeof *workers);
    free(workers);
    printf("RESULT bench=cache_scratch threads=%u iters=%" PRIu64 " size=%zu reps=%" PRIu64
           " secs=%.6f\n", threads, iters, size, reps, secs);
    return 0;
}
