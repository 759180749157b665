/*
 * dist_app - slot-churn malloc benchmark with an application-like size mix.
 *
 *   dist_app [--threads T] [--xthread] [--seed S] [ITERS WS MIN MAX]
 *
 * Sizes: 80% in 16..256, 15% in 257..2048, 5% in 2049..MAX, each bucket clamped
 * to [MIN, MAX]; a bucket that ends up empty gets weight 0 (the others are
 * renormalised). Defaults are the standard run: 20,000,000 iterations, WS=400,
 * MIN=16, MAX=32768, seed 0x12345678. See bench_core.h for the loop itself.
 */
#include "bench_core.h"

int main(int argc, char **argv)
{
    bench_cfg cfg = {
        .name = "dist_app",
        .iters = 20000000,
        .ws = 400,
        .min = 16,
        .max = 32768,
        .seed = 0x12345678,
        .threads = 1,
    };
    bench_parse(&cfg, argc, argv);
    bench_dist_add(&cfg.dist, 80, 16, 256, cfg.min, cfg.max);
    bench_dist_add(&cfg.dist, 15, 257, 2048, cfg.min, cfg.max);
    bench_dist_add(&cfg.dist, 5, 2049, cfg.max, cfg.min, cfg.max);
    return bench_main(&cfg);
}
