/*
 * cache_thrash - the shape of Berger's cache-thrash (mimalloc-bench's cache-thrashN): active
 * false sharing. Each worker, ITERS times, mallocs a small object, writes every byte of it
 * REPS times and frees it. Nothing is shared by the program: an allocator that hands
 * concurrent threads blocks on one cache line makes their writes fight over it.
 *
 *   cache_thrash [THREADS ITERS OBJSIZE REPS]     default 2 1000 8 20000
 */
#include "suite.h"

typedef struct {
    uint64_t iters, reps;
    size_t size;
} worker;

static void *work(void *a)
{
    worker *w = a;
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
        workers[t] = (worker){.iters = iters, .reps = reps, .size = size};
    double secs = suite_run_threads(threads, work, workers, sizeof *workers);
    free(workers);
    printf("RESULT bench=cache_thrash threads=%u iters=%" PRIu64 " size=%zu reps=%" PRIu64
           " secs=%.6f\n", threads, iters, size, reps, secs);
    return 0;
}
