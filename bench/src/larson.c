/*
 * larson - a server-shaped churn in the manner of the Larson benchmark:
 * objects made by one thread are freed by another.
 *
 *   larson [--threads T] [--seed S] [ITERS WS MIN MAX]
 *
 * Each of T threads holds an array of WS objects and, ITERS times, frees the
 * object in a random slot and puts a new one of a random size (uniform in
 * MIN..MAX) in its place, writing its first word as a server fills in a
 * request. Every WS iterations the thread hands its array to a shared
 * mailbox and takes the one another thread left there, so the objects it
 * frees next were mostly made by other threads (about two frees in three
 * are cross-thread in the steady state). ops = mallocs + frees = 2 * ITERS
 * per thread; the arrays' objects are made before the clock starts and
 * freed after it stops. Defaults: 4 threads, 2,000,000 iterations, WS=1000,
 * 16..4096 B.
 */
#include "bench_core.h"

typedef struct {
    const bench_cfg *cfg;
    unsigned idx;
    void **slots;
    pthread_barrier_t *start;
} larson_arg;

static pthread_mutex_t mailbox_lock = PTHREAD_MUTEX_INITIALIZER;
static void **mailbox;   /* one array waiting for a taker */

static void **larson_fill(const bench_cfg *cfg, bench_rng *rng)
{
    void **slots = malloc(cfg->ws * sizeof *slots);
    if (!slots)
        bench_oom(cfg->ws * sizeof *slots);
    for (uint32_t s = 0; s < cfg->ws; s++) {
        size_t sz = bench_dist_pick(&cfg->dist, bench_rng_next(rng));
        if (!(slots[s] = malloc(sz)))
            bench_oom(sz);
        *(volatile uintptr_t *)slots[s] = s;
    }
    return slots;
}

static void *larson_thread(void *a)
{
    larson_arg *arg = a;
    const bench_cfg *cfg = arg->cfg;
    bench_rng rng = {bench_thread_seed(cfg->seed, arg->idx)};
    void **slots = arg->slots;
    const uint32_t ws = cfg->ws;

    pthread_barrier_wait(arg->start);
    for (uint64_t i = 0; i < cfg->iters; i++) {
        uint64_t r = bench_rng_next(&rng);
        uint32_t slot = bench_below((uint32_t)(r >> 32), ws);
        free(slots[slot]);
        size_t sz = bench_dist_pick(&cfg->dist, bench_rng_next(&rng));
        void *p = malloc(sz);
        if (!p)
            bench_oom(sz);
        *(volatile uintptr_t *)p = i;
        slots[slot] = p;
        if ((i + 1) % ws == 0) {
            pthread_mutex_lock(&mailbox_lock);
            void **theirs = mailbox;
            mailbox = slots;
            slots = theirs;
            pthread_mutex_unlock(&mailbox_lock);
        }
    }
    arg->slots = slots;
    pthread_barrier_wait(arg->start);   /* the clock stops before the leftovers go */
    return NULL;
}

int main(int argc, char **argv)
{
    bench_cfg cfg = {
        .name = "larson",
        .iters = 2000000,
        .ws = 1000,
        .min = 16,
        .max = 4096,
        .seed = 0x12345678,
        .threads = 4,
    };
    bench_parse(&cfg, argc, argv);
    if (cfg.xthread) {
        fprintf(stderr, "larson: --xthread does not apply\n");
        return 2;
    }
    bench_dist_add(&cfg.dist, 1, cfg.min, cfg.max, cfg.min, cfg.max);
    bench_report_malloc();

    unsigned t_count = cfg.threads;
    pthread_t *tids = calloc(t_count, sizeof *tids);
    larson_arg *args = calloc(t_count, sizeof *args);
    if (!tids || !args)
        bench_oom(t_count * sizeof *args);
    bench_rng rng = {cfg.seed};
    mailbox = larson_fill(&cfg, &rng);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, t_count + 1);
    for (unsigned t = 0; t < t_count; t++) {
        args[t] = (larson_arg){&cfg, t, larson_fill(&cfg, &rng), &start};
        if (pthread_create(&tids[t], NULL, larson_thread, &args[t]) != 0) {
            fprintf(stderr, "bench: pthread_create failed\n");
            return 4;
        }
    }
    pthread_barrier_wait(&start);
    double t0 = bench_now();
    pthread_barrier_wait(&start);
    double secs = bench_now() - t0;
    for (unsigned t = 0; t < t_count; t++)
        pthread_join(tids[t], NULL);
    for (unsigned t = 0; t <= t_count; t++) {
        void **slots = t < t_count ? args[t].slots : mailbox;
        for (uint32_t s = 0; s < cfg.ws; s++)
            free(slots[s]);
        free(slots);
    }
    uint64_t ops = 2 * cfg.iters * t_count;
    printf("RESULT bench=%s mode=server threads=%u iters=%" PRIu64 " ws=%u min=%" PRIu64 " max=%" PRIu64
           " seed=0x%" PRIx64 " ops=%" PRIu64 " secs=%.6f ops_per_sec=%.0f\n",
           cfg.name, t_count, cfg.iters, cfg.ws, cfg.min, cfg.max, cfg.seed, ops, secs,
           secs > 0 ? (double)ops / secs : 0.0);
    pthread_barrier_destroy(&start);
    free(args);
    free(tids);
    return 0;
}
