/*
 * malloc_large - the shape of mimalloc-bench's malloc-large: one thread keeps BUFFERS large
 * buffers and, ITERS times, replaces a random one by a new buffer of 5-25 MiB (uniform). Only
 * the first and last byte of a buffer are written, as a program that fills buffers lazily
 * does: what is measured is the allocator's handling of big blocks (mapping, unmapping,
 * reuse), not the page faults of filling them.
 *
 *   malloc_large [ITERS BUFFERS]     default 10000 20
 */
#include "suite.h"

#define MIN_SIZE (5u << 20)
#define MAX_SIZE (25u << 20)

int main(int argc, char **argv)
{
    uint64_t iters = suite_arg(argc, argv, 1, 10000, 1);
    uint32_t buffers = (uint32_t)suite_arg(argc, argv, 2, 20, 1);
    bench_report_malloc();

    char **buf = calloc(buffers, sizeof *buf);
    if (!buf)
        bench_oom(buffers * sizeof *buf);
    bench_rng r = {0x12345678};
    double t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t rnd = bench_rng_next(&r);
        uint32_t idx = bench_below((uint32_t)rnd, buffers);
        size_t size = MIN_SIZE + bench_below((uint32_t)(rnd >> 32), MAX_SIZE - MIN_SIZE + 1);
        free(buf[idx]);
        buf[idx] = suite_malloc(size);
        buf[idx][0] = 1;
        buf[idx][size - 1] = 1;
    }
    for (uint32_t i = 0; i < buffers; i++)
        free(buf[i]);
    double secs = bench_now() - t0;
    free(buf);
    printf("RESULT bench=malloc_large threads=1 iters=%" PRIu64 " buffers=%u secs=%.6f\n", iters,
           buffers, secs);
    return 0;
}
