/*
 * glibc_thread - the shape of glibc's bench-malloc-thread: each of T threads keeps a
 * working set of WS blocks and replaces a random one at every step, with sizes of an
 * inverse-square distribution (mostly a few bytes, rarely up to 32 KiB), as applications
 * allocate many more small blocks than large ones. Threads never share blocks.
 *
 *   glibc_thread [THREADS ITERS WS]     default 2 20000000 1024
 *
 * The random slot and size of each step come from per-thread tables made before the clock
 * starts (as in the original, so the generator's cost is not measured); ITERS steps per
 * thread, each one free and one malloc.
 */
#include "suite.h"

#define TABLE 4096 /* power of two */
#define MIN_SIZE 4
#define MAX_SIZE 32768

typedef struct {
    uint64_t iters;
    uint32_t ws;
    unsigned idx;
    uint32_t slot[TABLE];
    uint32_t size[TABLE];
} worker;

/* P(size = s) proportional to 1/s^2 on [MIN_SIZE, MAX_SIZE], by inverting its distribution. */
static uint32_t inverse_square(bench_rng *r)
{
    double u = (double)(bench_rng_next(r) >> 11) * 0x1.0p-53;
    double inv = 1.0 / MIN_SIZE - u * (1.0 / MIN_SIZE - 1.0 / MAX_SIZE);
    uint32_t s = (uint32_t)(1.0 / inv);
    return s > MAX_SIZE ? MAX_SIZE : s;
}

static void *work(void *a)
{
    worker *w = a;
    void **blocks = calloc(w->ws, sizeof *blocks);
    if (!blocks)
        bench_oom(w->ws * sizeof *blocks);
    for (uint64_t i = 0; i < w->iters; i++) {
        unsigned t = (unsigned)(i & (TABLE - 1));
        uint32_t s = w->slot[t];
        free(blocks[s]);
        blocks[s] = suite_malloc(w->size[t]);
    }
    for (uint32_t s = 0; s < w->ws; s++)
        free(blocks[s]);
    free(blocks);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned threads = (unsigned)suite_arg(argc, argv, 1, 2, 1);
    uint64_t iters = suite_arg(argc, argv, 2, 20000000, 1);
    uint32_t ws = (uint32_t)suite_arg(argc, argv, 3, 1024, 1);
    bench_report_malloc();

    worker *workers = suite_malloc(threads * sizeof *workers);
    for (unsigned t = 0; t < threads; t++) {
        bench_rng r = {bench_thread_seed(0x12345678, t)};
        workers[t] = (worker){.iters = iters, .ws = ws, .idx = t};
        for (unsigned i = 0; i < TABLE; i++) {
            workers[t].slot[i] = bench_below((uint32_t)(bench_rng_next(&r) >> 32), ws);
            workers[t].size[i] = inverse_square(&r);
        }
    }
    double secs = suite_run_threads(threads, work, workers, sizeof *workers);
    free(workers);
    printf("RESULT bench=glibc_thread threads=%u iters=%" PRIu64 " ws=%u secs=%.6f\n", threads,
           iters, ws, secs);
    return 0;
}
