/*
 * large_churn - replacing big buffers, as a JVM replaces its direct buffers.
 *
 *   large_churn [--threads T] [--seed S] [ITERS WS MIN MAX]
 *
 * Each thread keeps WS buffers. One iteration (one op) picks one of them at
 * random, frees it and mallocs a new one of a size drawn log-uniformly from
 * [MIN, MAX], then writes one byte on every page of it (as a direct buffer is
 * written: the memory is used, so fresh pages cost their page faults). The
 * previous contents are checked on one byte before the free, so that an
 * allocator that handed one buffer out twice is caught. Defaults: 2,000
 * iterations per thread (bench/run.sh uses 300), WS=16, MIN=64 KiB, MAX=64 MiB, seed 0x12345678.
 * Prints the same MALLOC= and RESULT lines as the other benchmarks.
 */
#include "bench_core.h"
#include <math.h>

#define PAGE 4096u

typedef struct {
    const bench_cfg *cfg;
    unsigned idx;
    pthread_barrier_t *start;
    int failed;
} large_arg;

static size_t log_uniform(bench_rng *r, uint64_t min, uint64_t max)
{
    double u = (double)(bench_rng_next(r) >> 11) * 0x1.0p-53;   /* [0, 1) */
    double v = exp(log((double)min) + u * (log((double)max) - log((double)min)));
    size_t n = (size_t)v;
    return n < min ? min : n > max ? max : n;
}

static void *large_thread(void *a)
{
    large_arg *arg = a;
    const bench_cfg *cfg = arg->cfg;
    bench_rng r = {bench_thread_seed(cfg->seed, arg->idx)};
    unsigned char **buf = calloc(cfg->ws, sizeof *buf);
    size_t *size = calloc(cfg->ws, sizeof *size);
    unsigned char *tag = calloc(cfg->ws, 1);
    if (!buf || !size || !tag)
        bench_oom(cfg->ws * sizeof *buf);
    pthread_barrier_wait(arg->start);
    for (uint64_t i = 0; i < cfg->iters; i++) {
        uint32_t k = bench_below((uint32_t)bench_rng_next(&r), cfg->ws);
        if (buf[k]) {
            if (buf[k][size[k] - 1] != tag[k])
                arg->failed = 1;
            free(buf[k]);
        }
        size_t n = log_uniform(&r, cfg->min, cfg->max);
        unsigned char *p = malloc(n);
        if (!p)
            bench_oom(n);
        unsigned char t = (unsigned char)(1 + i % 251);
        for (size_t off = 0; off < n; off += PAGE)
            p[off] = t;
        p[n - 1] = t;
        buf[k] = p;
        size[k] = n;
        tag[k] = t;
    }
    for (uint32_t k = 0; k < cfg->ws; k++)
        free(buf[k]);
    free(buf);
    free(size);
    free(tag);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_cfg cfg = {
        .name = "large_churn",
        .iters = 2000,
        .ws = 16,
        .min = 64 << 10,
        .max = 64 << 20,
        .seed = 0x12345678,
        .threads = 1,
    };
    (void)bench_main;   /* the shared slot loop is not this benchmark's */
    bench_parse(&cfg, argc, argv);
    if (cfg.xthread) {
        fprintf(stderr, "large_churn: --xthread is not supported\n");
        return 2;
    }
    bench_report_malloc();
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, cfg.threads + 1);
    pthread_t *tid = calloc(cfg.threads, sizeof *tid);
    large_arg *args = calloc(cfg.threads, sizeof *args);
    if (!tid || !args)
        bench_oom(cfg.threads * sizeof *args);
    for (unsigned t = 0; t < cfg.threads; t++) {
        args[t] = (large_arg){&cfg, t, &start, 0};
        if (pthread_create(&tid[t], NULL, large_thread, &args[t]) != 0) {
            fprintf(stderr, "large_churn: pthread_create failed\n");
            return 3;
        }
    }
    pthread_barrier_wait(&start);
    double t0 = bench_now();
    int failed = 0;
    for (unsigned t = 0; t < cfg.threads; t++) {
        pthread_join(tid[t], NULL);
        failed |= args[t].failed;
    }
    double secs = bench_now() - t0;
    if (failed) {
        fprintf(stderr, "large_churn: a buffer was overwritten while live\n");
        return 4;
    }
    uint64_t ops = cfg.iters * cfg.threads;
    printf("RESULT bench=%s mode=local threads=%u iters=%" PRIu64 " ws=%u min=%" PRIu64 " max=%" PRIu64
           " seed=0x%" PRIx64 " ops=%" PRIu64 " secs=%.6f ops_per_sec=%.3f\n",
           cfg.name, cfg.threads, cfg.iters, cfg.ws, cfg.min, cfg.max, cfg.seed, ops, secs,
           secs > 0 ? (double)ops / secs : 0.0);
    free(tid);
    free(args);
    return 0;
}
