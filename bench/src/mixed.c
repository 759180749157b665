/*
 * mixed - slot-churn malloc benchmark with uniformly distributed sizes.
 *
 *   mixed [--threads T] [--xthread] [--seed S] [ITERS WS MIN MAX]
 *
 * Each iteration picks a random slot among WS: frees it if occupied, else mallocs
 * a size uniform in [MIN, MAX]. Defaults: 20,000,000 iterations, WS=400,
 * MIN=16, MAX=1024, seed 0x12345678. See bench_core.h for the loop itself.
 */
#include "bench_core.h"

int main(int argc, char **argv)
{
    bench_cfg cfg = {
        .name = "mixed",
        .iters = 20000000,
        .ws = 400,
        .min = 16,
        .max = 1024,
        .seed = 0x12345678,
        .threads = 1,
    };
    bench_parse(&cfg, argc, argv);
    bench_dist_add(&cfg.dist, 1, cfg.min, cfg.max, cfg.min, cfg.max);
    return bench_main(&cfg);
}
