/*
 * glibc_simple - the shape of glibc's bench-malloc-simple: one thread mallocs a run of
 * blocks of one size and frees them all again, for a few sizes and run lengths. It measures
 * the thread cache's push and pop when nothing else happens.
 *
 *   glibc_simple [ROUNDS]     default 2000
 *
 * Sizes 16, 32, 64 and 128 B, runs of 25, 100, 400 and 1600 blocks; each (size, run) pair
 * is repeated ROUNDS times (1,700 mallocs and as many frees per round and pair). Blocks are
 * freed in the order they were made, the first word written so each is really used.
 * (Runs of 1600 blocks of 1 KiB and more would measure glibc trimming and regrowing its heap
 * top at every round, some 100 times slower than the peers: a different test.)
 */
#include "suite.h"

static const size_t sizes[] = {16, 32, 64, 128};
static const unsigned runs[] = {25, 100, 400, 1600};

int main(int argc, char **argv)
{
    uint64_t rounds = suite_arg(argc, argv, 1, 2000, 1);
    bench_report_malloc();
    void **blocks = suite_malloc(1600 * sizeof *blocks);

    double t0 = bench_now();
    for (unsigned s = 0; s < 4; s++)
        for (unsigned n = 0; n < 4; n++)
            for (uint64_t r = 0; r < rounds; r++) {
                for (unsigned i = 0; i < runs[n]; i++) {
                    blocks[i] = suite_malloc(sizes[s]);
                    *(volatile unsigned *)blocks[i] = i;
                }
                for (unsigned i = 0; i < runs[n]; i++)
                    free(blocks[i]);
            }
    double secs = bench_now() - t0;

    free(blocks);
    printf("RESULT bench=glibc_simple threads=1 rounds=%" PRIu64 " secs=%.6f\n", rounds, secs);
    return 0;
}
