/*
 * bench_core.h - shared engine of the malloc churn benchmarks (mixed, dist_app).
 *
 * Header-only on purpose: every C file in bench/src is built into its own program by the
 * globbing Makefile, so shared code lives here as static functions instead of in a
 * separate translation unit.
 *
 * The engine implements three modes:
 *   local   (default, --threads T): each thread runs its own slot loop over WS slots:
 *            pick a random slot, free it if occupied, else malloc a random size.
 *            One iteration = one op. T=1 runs in the main thread (so glibc uses its
 *            main arena, as a plain single-threaded program would).
 *   xthread (--xthread, --threads 2P): P producer/consumer pairs. The producer mallocs
 *            ITERS blocks and hands them through a bounded lock-free SPSC ring to its
 *            consumer, which frees them (every free is a cross-thread free).
 *            ops = mallocs + frees = 2 * ITERS per pair.
 * Memory is never touched, so the benchmark measures allocator metadata work only.
 */
#ifndef BENCH_CORE_H
#define BENCH_CORE_H

#define _GNU_SOURCE /* dladdr, pthread barriers, clock_gettime */

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ PRNG */

/* splitmix64: tiny, fast, all output bits usable, trivially seedable per thread. */
typedef struct {
    uint64_t s;
} bench_rng;

static inline uint64_t bench_rng_next(bench_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Map 32 random bits to [0, n) by multiply-shift (Lemire); bias is < n / 2^32. */
static inline uint32_t bench_below(uint32_t rnd, uint32_t n)
{
    return (uint32_t)(((uint64_t)rnd * n) >> 32);
}

/* Derive an independent, deterministic per-thread seed from the run seed. */
static inline uint64_t bench_thread_seed(uint64_t seed, unsigned idx)
{
    bench_rng r = {seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(idx + 1))};
    return bench_rng_next(&r);
}

/* ------------------------------------------------------ size distribution */

#define BENCH_MAX_BUCKETS 4

/* A piecewise-uniform size distribution: bucket i is chosen with probability
 * weight[i] / total_weight and then a size is drawn uniformly in [lo, lo+span-1]. */
typedef struct {
    unsigned nb;
    uint32_t total_weight;
    uint32_t cum[BENCH_MAX_BUCKETS]; /* cumulative weights of the non-empty buckets */
    uint32_t lo[BENCH_MAX_BUCKETS];
    uint32_t span[BENCH_MAX_BUCKETS];
} bench_dist;

/* Add bucket [lo, hi] with the given weight after clamping it to [min, max].
 * A bucket that becomes empty gets weight 0, i.e. it is simply not added. */
static inline void bench_dist_add(bench_dist *d, uint32_t weight, uint64_t lo, uint64_t hi,
                                  uint64_t min, uint64_t max)
{
    if (lo < min)
        lo = min;
    if (hi > max)
        hi = max;
    if (lo > hi || weight == 0)
        return;
    if (d->nb >= BENCH_MAX_BUCKETS) {
        fprintf(stderr, "bench: too many size buckets\n");
        exit(2);
    }
    d->total_weight += weight;
    d->cum[d->nb] = d->total_weight;
    d->lo[d->nb] = (uint32_t)lo;
    d->span[d->nb] = (uint32_t)(hi - lo + 1);
    d->nb++;
}

static inline size_t bench_dist_pick(const bench_dist *d, uint64_t rnd)
{
    unsigned b = 0;
    if (d->nb > 1) {
        uint32_t u = bench_below((uint32_t)(rnd >> 32), d->total_weight);
        while (u >= d->cum[b])
            b++;
    }
    return (size_t)d->lo[b] + bench_below((uint32_t)rnd, d->span[b]);
}

/* ------------------------------------------------------------ run config */

typedef struct {
    const char *name; /* benchmark name printed in RESULT */
    uint64_t iters;   /* iterations per thread (local) or mallocs per pair (xthread) */
    uint32_t ws;      /* slots per thread (local) / SPSC ring capacity, rounded up to 2^k */
    uint64_t min, max;
    uint64_t seed;
    unsigned threads;
    int xthread;
    bench_dist dist;
} bench_cfg;

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void bench_oom(size_t sz)
{
    fprintf(stderr, "bench: malloc(%zu) returned NULL\n", sz);
    exit(3);
}

/* Report which allocator is mapped into this process, from /proc/self/maps, so the
 * harness can verify that LD_PRELOAD really took effect. Several matches are joined
 * with '+' (which the harness treats as a mismatch). Also report which object the
 * dynamic linker bound `malloc` to, as a second, independent check. */
static void bench_report_malloc(void)
{
    static const char *const names[] = {"hz3", "jemalloc", "mimalloc", "tcmalloc"};
    static const char *const needles[] = {"/libhz3", "/libjemalloc", "/libmimalloc", "/libtcmalloc"};
    int found[4] = {0, 0, 0, 0};
    FILE *f = fopen("/proc/self/maps", "r");
    if (f) {
        char line[4096];
        while (fgets(line, sizeof line, f))
            for (int i = 0; i < 4; i++)
                if (strstr(line, needles[i]))
                    found[i] = 1;
        fclose(f);
    } else {
        fprintf(stderr, "bench: cannot read /proc/self/maps: %s\n", strerror(errno));
    }
    char buf[64] = "";
    for (int i = 0; i < 4; i++) {
        if (!found[i])
            continue;
        if (buf[0])
            strcat(buf, "+");
        strcat(buf, names[i]);
    }
    printf("MALLOC=%s\n", buf[0] ? buf : "glibc");

    Dl_info info;
    void *(*mp)(size_t) = malloc;
    void *addr;
    memcpy(&addr, &mp, sizeof addr); /* function -> object pointer without a cast warning */
    if (dladdr(addr, &info) && info.dli_fname)
        printf("MALLOC_SYMBOL_FROM=%s\n", info.dli_fname);
    else
        printf("MALLOC_SYMBOL_FROM=unknown\n");
    /* Flush now so the line survives even if the allocator crashes later. */
    fflush(stdout);
}

/* ------------------------------------------------------------ local mode */

typedef struct {
    const bench_cfg *cfg;
    unsigned idx;
    pthread_barrier_t *start;
} bench_local_arg;

static void bench_local_loop(const bench_cfg *cfg, unsigned idx, pthread_barrier_t *start)
{
    void **slots = calloc(cfg->ws, sizeof *slots);
    if (!slots)
        bench_oom(cfg->ws * sizeof *slots);
    bench_rng rng = {bench_thread_seed(cfg->seed, idx)};
    const bench_dist *d = &cfg->dist;
    const uint32_t ws = cfg->ws;

    if (start)
        pthread_barrier_wait(start);
    for (uint64_t i = 0; i < cfg->iters; i++) {
        uint32_t slot = bench_below((uint32_t)(bench_rng_next(&rng) >> 32), ws);
        void *p = slots[slot];
        if (p) {
            free(p);
            slots[slot] = NULL;
        } else {
            size_t sz = bench_dist_pick(d, bench_rng_next(&rng));
            p = malloc(sz);
            if (!p)
                bench_oom(sz);
            slots[slot] = p;
        }
    }
    /* Free the leftovers (at most WS blocks). They are not counted as ops but fall
     * inside the timed region; against ITERS they are negligible, and keeping them
     * in makes T=1 and T>1 measure exactly the same work. */
    for (uint32_t s = 0; s < ws; s++)
        free(slots[s]);
    free(slots);
}

static void *bench_local_thread(void *a)
{
    bench_local_arg *arg = a;
    bench_local_loop(arg->cfg, arg->idx, arg->start);
    return NULL;
}

/* Returns the number of counted ops; *secs receives the wall time. */
static uint64_t bench_run_local(const bench_cfg *cfg, double *secs)
{
    if (cfg->threads == 1) {
        double t0 = bench_now();
        bench_local_loop(cfg, 0, NULL);
        *secs = bench_now() - t0;
        return cfg->iters;
    }
    pthread_t *tids = calloc(cfg->threads, sizeof *tids);
    bench_local_arg *args = calloc(cfg->threads, sizeof *args);
    pthread_barrier_t start;
    if (!tids || !args)
        bench_oom(cfg->threads * sizeof *args);
    pthread_barrier_init(&start, NULL, cfg->threads + 1);
    for (unsigned t = 0; t < cfg->threads; t++) {
        args[t] = (bench_local_arg){cfg, t, &start};
        if (pthread_create(&tids[t], NULL, bench_local_thread, &args[t]) != 0) {
            fprintf(stderr, "bench: pthread_create failed\n");
            exit(4);
        }
    }
    /* All threads are created and waiting: start the clock together with them. */
    pthread_barrier_wait(&start);
    double t0 = bench_now();
    for (unsigned t = 0; t < cfg->threads; t++)
        pthread_join(tids[t], NULL);
    *secs = bench_now() - t0;
    pthread_barrier_destroy(&start);
    free(args);
    free(tids);
    return cfg->iters * cfg->threads;
}

/* ---------------------------------------------------------- xthread mode */

#define BENCH_CACHELINE 64
#define BENCH_PUBLISH_BATCH 32 /* power of two */

/* Bounded single-producer/single-consumer ring. head is written only by the
 * producer, tail only by the consumer; each side keeps a private cached copy of
 * the other's index so the shared lines are touched only when the cache says the
 * ring looks full/empty. Indices run freely and are masked on access. */
typedef struct {
    _Alignas(BENCH_CACHELINE) _Atomic uint64_t head;
    _Alignas(BENCH_CACHELINE) _Atomic uint64_t tail;
    _Alignas(BENCH_CACHELINE) void **buf;
    uint64_t mask;
} bench_ring;

typedef struct {
    const bench_cfg *cfg;
    bench_ring *ring;
    unsigned idx;
    pthread_barrier_t *start;
} bench_pair_arg;

/* Busy-wait politely: spin a little, then yield so oversubscribed runs (more
 * threads than cores) still make progress instead of burning whole time slices. */
static inline void bench_backoff(unsigned *spins)
{
    if (++*spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}

static void *bench_producer(void *a)
{
    bench_pair_arg *arg = a;
    bench_ring *r = arg->ring;
    const bench_cfg *cfg = arg->cfg;
    bench_rng rng = {bench_thread_seed(cfg->seed, arg->idx)};
    uint64_t head = 0, cached_tail = 0;

    pthread_barrier_wait(arg->start);
    for (uint64_t i = 0; i < cfg->iters; i++) {
        size_t sz = bench_dist_pick(&cfg->dist, bench_rng_next(&rng));
        void *p = malloc(sz);
        if (!p)
            bench_oom(sz);
        if (head - cached_tail > r->mask) { /* looks full: refresh consumer index */
            /* Publish what we have first, or the consumer could wait for it forever. */
            atomic_store_explicit(&r->head, head, memory_order_release);
            unsigned spins = 0;
            while (head - (cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire)) >
                   r->mask)
                bench_backoff(&spins);
        }
        r->buf[head & r->mask] = p;
        head++;
        /* Publish in batches: one shared-line write per batch instead of per block keeps
         * the ring's own cache-line traffic small next to the allocator's work. */
        if ((head & (BENCH_PUBLISH_BATCH - 1)) == 0)
            atomic_store_explicit(&r->head, head, memory_order_release);
    }
    atomic_store_explicit(&r->head, head, memory_order_release);
    return NULL;
}

static void *bench_consumer(void *a)
{
    bench_pair_arg *arg = a;
    bench_ring *r = arg->ring;
    uint64_t tail = 0, cached_head = 0;
    const uint64_t n = arg->cfg->iters;

    pthread_barrier_wait(arg->start);
    while (tail < n) {
        if (tail == cached_head) { /* looks empty: refresh producer index */
            unsigned spins = 0;
            while ((cached_head = atomic_load_explicit(&r->head, memory_order_acquire)) == tail)
                bench_backoff(&spins);
        }
        /* Drain everything published so far, then hand the slots back at once. */
        while (tail < cached_head) {
            free(r->buf[tail & r->mask]);
            tail++;
        }
        atomic_store_explicit(&r->tail, tail, memory_order_release);
    }
    return NULL;
}

static uint64_t bench_run_xthread(const bench_cfg *cfg, double *secs)
{
    unsigned pairs = cfg->threads / 2;
    uint64_t cap = 1;
    while (cap < cfg->ws)
        cap <<= 1;

    bench_ring *rings = aligned_alloc(BENCH_CACHELINE, pairs * sizeof *rings);
    pthread_t *tids = calloc(2 * (size_t)pairs, sizeof *tids);
    bench_pair_arg *args = calloc(pairs, sizeof *args);
    if (!rings || !tids || !args)
        bench_oom(pairs * sizeof *rings);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2 * pairs + 1);

    for (unsigned p = 0; p < pairs; p++) {
        atomic_init(&rings[p].head, 0);
        atomic_init(&rings[p].tail, 0);
        rings[p].mask = cap - 1;
        rings[p].buf = calloc(cap, sizeof(void *));
        if (!rings[p].buf)
            bench_oom(cap * sizeof(void *));
        args[p] = (bench_pair_arg){cfg, &rings[p], p, &start};
        if (pthread_create(&tids[2 * p], NULL, bench_producer, &args[p]) != 0 ||
            pthread_create(&tids[2 * p + 1], NULL, bench_consumer, &args[p]) != 0) {
            fprintf(stderr, "bench: pthread_create failed\n");
            exit(4);
        }
    }
    pthread_barrier_wait(&start);
    double t0 = bench_now();
    for (unsigned t = 0; t < 2 * pairs; t++)
        pthread_join(tids[t], NULL);
    *secs = bench_now() - t0;

    for (unsigned p = 0; p < pairs; p++)
        free(rings[p].buf);
    pthread_barrier_destroy(&start);
    free(args);
    free(tids);
    free(rings);
    return 2 * cfg->iters * pairs;
}

/* ------------------------------------------------------------ front end */

static void bench_usage(const char *prog, const char *name)
{
    fprintf(stderr,
            "usage: %s [--threads T] [--xthread] [--seed S] [ITERS WS MIN MAX]\n"
            "  %s churn benchmark; ITERS is per thread (local) or mallocs per pair\n"
            "  (--xthread, T must be even: T/2 producer/consumer pairs, default T=2).\n"
            "  WS is slots per thread, or SPSC ring capacity (rounded up to 2^k) with --xthread.\n",
            prog, name);
    exit(2);
}

static uint64_t bench_parse_u64(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0); /* base 0: accepts 0x... seeds */
    if (errno || end == s || *end || s[0] == '-') {
        fprintf(stderr, "bench: bad %s '%s'\n", what, s);
        exit(2);
    }
    return (uint64_t)v;
}

/* Parse arguments into cfg (defaults must be preset by the caller); the caller
 * builds cfg->dist from cfg->min/max afterwards. Exits with status 2 on bad input. */
static void bench_parse(bench_cfg *cfg, int argc, char **argv)
{
    int threads_given = 0;
    int pos = 0;
    uint64_t posv[4];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--threads") && i + 1 < argc) {
            cfg->threads = (unsigned)bench_parse_u64(argv[++i], "thread count");
            threads_given = 1;
        } else if (!strcmp(a, "--xthread")) {
            cfg->xthread = 1;
        } else if (!strcmp(a, "--seed") && i + 1 < argc) {
            cfg->seed = bench_parse_u64(argv[++i], "seed");
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            bench_usage(argv[0], cfg->name);
        } else if (a[0] == '-' && a[1] == '-') {
            bench_usage(argv[0], cfg->name);
        } else if (pos < 4) {
            posv[pos++] = bench_parse_u64(a, "number");
        } else {
            bench_usage(argv[0], cfg->name);
        }
    }
    if (pos != 0 && pos != 4)
        bench_usage(argv[0], cfg->name);
    if (pos == 4) {
        cfg->iters = posv[0];
        cfg->ws = (uint32_t)posv[1];
        cfg->min = posv[2];
        cfg->max = posv[3];
        if (posv[1] != cfg->ws) {
            fprintf(stderr, "bench: WS too large\n");
            exit(2);
        }
    }
    if (cfg->xthread && !threads_given)
        cfg->threads = 2;
    if (cfg->threads == 0 || cfg->threads > 1024 || cfg->ws == 0 || cfg->ws > (1u << 30) ||
        cfg->min == 0 || cfg->min > cfg->max || cfg->max > UINT32_MAX) {
        fprintf(stderr, "bench: need 1<=T<=1024, 1<=WS<=2^30, 1<=MIN<=MAX<2^32\n");
        exit(2);
    }
    if (cfg->xthread && cfg->threads % 2) {
        fprintf(stderr, "bench: --xthread needs an even --threads (pairs)\n");
        exit(2);
    }
}

static inline int bench_main(bench_cfg *cfg)
{
    if (cfg->dist.nb == 0) {
        fprintf(stderr, "bench: empty size distribution for [%" PRIu64 ", %" PRIu64 "]\n",
                cfg->min, cfg->max);
        return 2;
    }
    bench_report_malloc();
    double secs = 0;
    uint64_t ops = cfg->xthread ? bench_run_xthread(cfg, &secs) : bench_run_local(cfg, &secs);
    printf("RESULT bench=%s mode=%s threads=%u iters=%" PRIu64 " ws=%u min=%" PRIu64
           " max=%" PRIu64 " seed=0x%" PRIx64 " ops=%" PRIu64 " secs=%.6f ops_per_sec=%.0f\n",
           cfg->name, cfg->xthread ? "xthread" : "local", cfg->threads, cfg->iters, cfg->ws,
           cfg->min, cfg->max, cfg->seed, ops, secs, secs > 0 ? (double)ops / secs : 0.0);
    return 0;
}

#endif /* BENCH_CORE_H */
