/*
 * test-sampling.c: sampled allocations and their call sites (include/hz3.h,
 * "Sampled allocations"). Expected figures come from this file's own
 * arithmetic: the sampling probability of an object of s bytes at mean N is
 * 1 - e^(-s/N), so the count of samples and the estimate of live bytes have
 * a known mean and variance; tolerances are 5 standard deviations (a false
 * failure about once in 3.5 million runs per check). Each workload runs on
 * a thread of its own, so that its heap starts empty and its slot is its
 * own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_util.h"

static struct {
    int (*set)(uint64_t);
    struct hz3_site_slot *(*slot)(void);
    int (*rename)(uint64_t, uint64_t);
    size_t (*census)(struct hz3_site_stat *, size_t);
    size_t (*take)(struct hz3_sample_rec *, size_t);
    void (*stats)(struct hz3_sampling_stats *);
} api;

static void load_api(void)
{
    t_hz3();
    api.set = (int (*)(uint64_t))dlsym(RTLD_DEFAULT, "hz3_sampling_set");
    api.slot = (struct hz3_site_slot * (*)(void)) dlsym(RTLD_DEFAULT, "hz3_site_slot");
    api.rename = (int (*)(uint64_t, uint64_t))dlsym(RTLD_DEFAULT, "hz3_site_rename");
    api.census = (size_t(*)(struct hz3_site_stat *, size_t))dlsym(RTLD_DEFAULT, "hz3_site_census");
    api.take = (size_t(*)(struct hz3_sample_rec *, size_t))dlsym(RTLD_DEFAULT, "hz3_samples_take");
    api.stats = (void (*)(struct hz3_sampling_stats *))dlsym(RTLD_DEFAULT, "hz3_sampling_stats_get");
    if (!api.set || !api.slot || !api.rename || !api.census || !api.take || !api.stats) {
        fprintf(stderr, "libhz3 lacks the sampling interface\n");
        exit(2);
    }
}

/* e^-x and sqrt without libm (the tests link only libdl). */
static double t_exp_neg(double x)
{
    double t = 1, s = 1;
    int halvings = 0;
    while (x > 0.5) {
        x /= 2;
        halvings++;
    }
    for (int n = 1; n < 20; n++) {
        t *= -x / n;
        s += t;
    }
    while (halvings--) s *= s;
    return s;
}
static double t_sqrt(double v)
{
    double r = v > 1 ? v : 1;
    for (int i = 0; i < 100; i++) r = 0.5 * (r + v / r);
    return r;
}
static double t_abs(double v) { return v < 0 ? -v : v; }
static double prob(double size, double mean) { return 1 - t_exp_neg(size / mean); }

#define MAX_RECS 16384
static struct hz3_sample_rec recs[MAX_RECS];

/* Every record taken since the last call. */
static size_t take_all(void)
{
    size_t n = 0, got;
    while (n < MAX_RECS && (got = api.take(recs + n, MAX_RECS - n)) > 0) n += got;
    return n;
}

static struct hz3_site_stat site_stat(uint64_t site)
{
    static struct hz3_site_stat all[HZ3_SAMPLE_CAPACITY];
    size_t n = api.census(all, HZ3_SAMPLE_CAPACITY);
    for (size_t i = 0; i < n && i < HZ3_SAMPLE_CAPACITY; i++)
        if (all[i].site == site) return all[i];
    struct hz3_site_stat none = { .site = site };
    return none;
}

static uint64_t live_samples(void)
{
    struct hz3_sampling_stats st;
    api.stats(&st);
    return st.samples_live;
}

static void run_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    pthread_create(&t, NULL, fn, arg);
    pthread_join(t, NULL);
}

/* ---- off ---- */

static void *churn_64(void *arg)
{
    for (int i = 0; i < 100000; i++) {
        void *p = malloc(64);
        *(volatile char *)p = 1;
        free(p);
    }
    void *big = malloc(3 << 20);
    free(big);
    return NULL;
}

static void test_off(void)
{
    run_thread(churn_64, NULL);
    struct hz3_sampling_stats st;
    api.stats(&st);
    CHECK(st.mean_bytes == 0);
    CHECK(st.samples_taken == 0);
    CHECK(take_all() == 0);
    CHECK(api.census(NULL, 0) == 0);
    CHECK(api.set(100) == -1);
    CHECK(api.set(((uint64_t)1 << 40) + 1) == -1);
    CHECK(api.set(0) == 0);
}

/* ---- turned on while a thread's block caches serve it ---- */

#define CACHED_N 200000
#define RATE_SIZE_C 64
#define CACHED_MEAN 16384
#define SITE_C 0x5353
static pthread_barrier_t cached_phase;
static uint64_t cached_sampled;

/* Churns one class with sampling off (its cache armed: each malloc gets
 * the block just freed), then again once the main thread turned it on. */
static void *cached_churn(void *arg)
{
    for (int i = 0; i < 1000; i++) free(malloc(RATE_SIZE_C));
    pthread_barrier_wait(&cached_phase);
    pthread_barrier_wait(&cached_phase);
    struct hz3_site_slot *slot = api.slot();
    uint64_t before = slot->sampled;
    slot->site = SITE_C;
    for (int i = 0; i < CACHED_N; i++) {
        void *p = malloc(RATE_SIZE_C);
        *(volatile char *)p = 1;
        free(p);
    }
    slot->site = 0;
    cached_sampled = slot->sampled - before;
    return NULL;
}

static void test_on_while_cached(void)
{
    pthread_t t;
    pthread_barrier_init(&cached_phase, NULL, 2);
    pthread_create(&t, NULL, cached_churn, NULL);
    pthread_barrier_wait(&cached_phase);
    CHECK(api.set(CACHED_MEAN) == 0);
    pthread_barrier_wait(&cached_phase);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&cached_phase);
    take_all();
    /* Every malloc is charged: a cache that kept taking the frees would
     * have served them all uncharged (at most its limit may go out so). */
    double p = prob(RATE_SIZE_C, CACHED_MEAN), expect = CACHED_N * p, sd = t_sqrt(CACHED_N * p * (1 - p));
    CHECK_MSG(t_abs((double)cached_sampled - expect) <= 5 * sd, "%llu samples, expected %.1f +- %.1f",
              (unsigned long long)cached_sampled, expect, 5 * sd);
    CHECK(api.set(0) == 0);
    printf("on while cached: %llu samples of %d mallocs (expected %.1f)\n", (unsigned long long)cached_sampled,
           CACHED_N, expect);
}

/* ---- rate, site attribution, estimate, census, local frees ---- */

#define RATE_N 200000
#define RATE_SIZE 64
#define RATE_MEAN 16384
#define SITE_A 0x5151
static void *rate_objs[RATE_N];
static uint64_t rate_sampled;

static void *rate_workload(void *arg)
{
    struct hz3_site_slot *slot = api.slot();
    /* The thread's first malloc may make glibc grow its TLS vector (288 B,
     * kept with the thread's cached stack): here, not under SITE_A. */
    free(malloc(RATE_SIZE));
    uint64_t before = slot->sampled;
    slot->site = SITE_A;
    for (int i = 0; i < RATE_N; i++) rate_objs[i] = malloc(RATE_SIZE);
    slot->site = 0;
    rate_sampled = slot->sampled - before;
    return NULL;
}

static void *rate_free(void *arg)
{
    for (int i = 0; i < RATE_N; i++) free(rate_objs[i]);
    return NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void test_rate(void)
{
    uint64_t live_before = live_samples();
    run_thread(rate_workload, NULL);
    size_t n = take_all();
    qsort(rate_objs, RATE_N, sizeof rate_objs[0], cmp_ptr);
    uint64_t k = 0, ours = 0;
    double est = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].site != SITE_A) continue;
        k++;
        est += (double)recs[i].weight;
        void *key = (void *)(uintptr_t)recs[i].addr;
        ours += bsearch(&key, rate_objs, RATE_N, sizeof rate_objs[0], cmp_ptr) != NULL;
        CHECK_MSG(recs[i].size == RATE_SIZE && recs[i].tier == HZ3_TIER_SMALL && recs[i].cls != UINT32_MAX,
                  "size %llu tier %u cls %u", (unsigned long long)recs[i].size, recs[i].tier, recs[i].cls);
    }
    double p = prob(RATE_SIZE, RATE_MEAN), expect = RATE_N * p, sd = t_sqrt(RATE_N * p * (1 - p));
    CHECK_MSG(t_abs((double)k - expect) <= 5 * sd, "%llu samples, expected %.1f +- %.1f", (unsigned long long)k,
              expect, 5 * sd);
    double bytes = (double)RATE_N * RATE_SIZE, bytes_sd = RATE_SIZE * t_sqrt(RATE_N * (1 - p) / p);
    CHECK_MSG(t_abs(est - bytes) <= 5 * bytes_sd, "estimate %.0f, true %.0f +- %.0f", est, bytes, 5 * bytes_sd);
    CHECK_MSG(ours == k, "%llu of %llu sampled addresses are the workload's", (unsigned long long)ours,
              (unsigned long long)k);
    CHECK_MSG(rate_sampled == k, "slot counted %llu, records %llu", (unsigned long long)rate_sampled,
              (unsigned long long)k);
    struct hz3_site_stat st = site_stat(SITE_A);
    CHECK_MSG(st.live_samples == k && (double)st.live_bytes_est == est, "census %llu samples %llu bytes",
              (unsigned long long)st.live_samples, (unsigned long long)st.live_bytes_est);
    CHECK(live_samples() == live_before + k);
    CHECK(t_hz3()->validate() == 0);
    run_thread(rate_free, NULL);   /* the owner thread ended: these are frees into abandoned spans */
    CHECK(site_stat(SITE_A).live_samples == 0);
    CHECK(live_samples() == live_before);
    CHECK(t_hz3()->validate() == 0);
    printf("rate: %llu samples of %d objects of %d B at mean %d (expected %.1f), estimate %.0f of %.0f bytes\n",
           (unsigned long long)k, RATE_N, RATE_SIZE, RATE_MEAN, expect, est, bytes);
}

/* Local frees (the thread that allocated frees) and remote ones. */
#define FREE_N 20000
static void *free_objs[FREE_N];
static void *alloc_then_free_here(void *arg)
{
    api.slot()->site = (uintptr_t)arg;
    for (int i = 0; i < FREE_N; i++) free_objs[i] = malloc(100 + i % 300);
    api.slot()->site = 0;
    uint64_t live = site_stat((uintptr_t)arg).live_samples;
    CHECK_MSG(live > 0, "no sample in %d objects", FREE_N);
    for (int i = 0; i < FREE_N; i++) free(free_objs[i]);
    return NULL;
}
static void *alloc_only(void *arg)
{
    api.slot()->site = (uintptr_t)arg;
    for (int i = 0; i < FREE_N; i++) free_objs[i] = malloc(100 + i % 300);
    api.slot()->site = 0;
    return NULL;
}
static pthread_barrier_t owner_alive;
static void *alloc_and_wait(void *arg)
{
    alloc_only(arg);
    pthread_barrier_wait(&owner_alive);   /* the freeing thread runs while this one lives */
    pthread_barrier_wait(&owner_alive);
    return NULL;
}

static void test_frees(void)
{
    uint64_t base = live_samples();
    run_thread(alloc_then_free_here, (void *)0xA1);
    CHECK(site_stat(0xA1).live_samples == 0);
    CHECK(live_samples() == base);

    /* remote: the owner is alive while another thread frees */
    pthread_barrier_init(&owner_alive, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, alloc_and_wait, (void *)0xA2);
    pthread_barrier_wait(&owner_alive);
    CHECK(site_stat(0xA2).live_samples > 0);
    for (int i = 0; i < FREE_N; i++) free(free_objs[i]);
    CHECK(site_stat(0xA2).live_samples == 0);
    CHECK(live_samples() == base);
    pthread_barrier_wait(&owner_alive);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&owner_alive);
    CHECK(t_hz3()->validate() == 0);
    take_all();
}

/* Objects above the span classes: runs (inside segments) and mappings. */
#define BIG_N 64
static void *big_objs[2 * BIG_N];
static void *alloc_big(void *arg)
{
    api.slot()->site = 0xB16;
    for (int i = 0; i < BIG_N; i++) {
        big_objs[i] = malloc(200 << 10);
        big_objs[BIG_N + i] = malloc(2 << 20);
    }
    api.slot()->site = 0;
    return NULL;
}

static void test_big(void)
{
    uint64_t base = live_samples();
    api.set(1 << 20);
    run_thread(alloc_big, NULL);
    size_t n = take_all();
    uint64_t k = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].site != 0xB16) continue;
        k++;
        bad += recs[i].tier != HZ3_TIER_LARGE || recs[i].cls != UINT32_MAX;
    }
    double p1 = prob(200 << 10, 1 << 20), p2 = prob(2 << 20, 1 << 20);
    double expect = BIG_N * (p1 + p2), sd = t_sqrt(BIG_N * (p1 * (1 - p1) + p2 * (1 - p2)));
    CHECK_MSG(t_abs((double)k - expect) <= 5 * sd, "%llu big samples, expected %.1f +- %.1f",
              (unsigned long long)k, expect, 5 * sd);
    CHECK(bad == 0);
    CHECK(site_stat(0xB16).live_samples == k);
    for (int i = 0; i < 2 * BIG_N; i++) free(big_objs[i]);
    CHECK(site_stat(0xB16).live_samples == 0);
    CHECK(live_samples() == base);
    api.set(RATE_MEAN);
}

/* ---- rename ---- */

#define TOKEN(n) (((uint64_t)1 << 63) | (n))
static int renamed_outer, renamed_inner;
static uint64_t sampled_outer, sampled_inner;
static void *rename_workload(void *arg)
{
    struct hz3_site_slot *slot = api.slot();
    void **objs = arg;
    int i = 0;
    uint64_t before = slot->sampled;
    slot->site = TOKEN(1);                     /* outer call */
    for (; i < 1000; i++) objs[i] = malloc(512);
    uint64_t mid = slot->sampled;
    slot->site = TOKEN(2);                     /* inner call */
    for (; i < 1200; i++) objs[i] = malloc(512);
    sampled_inner = slot->sampled - mid;
    renamed_inner = api.rename(TOKEN(2), 2002);
    slot->site = TOKEN(1);                     /* back in the outer call */
    for (; i < 2000; i++) objs[i] = malloc(512);
    slot->site = 0;
    sampled_outer = slot->sampled - before - sampled_inner;
    renamed_outer = api.rename(TOKEN(1), 1001);
    return NULL;
}

static void test_rename(void)
{
    static void *objs[2000];
    run_thread(rename_workload, objs);
    size_t n = take_all();
    uint64_t t1 = 0, t2 = 0;
    for (size_t i = 0; i < n; i++) {
        t1 += recs[i].site == TOKEN(1);
        t2 += recs[i].site == TOKEN(2);
    }
    printf("rename: %llu samples under the outer token, %llu under the inner\n", (unsigned long long)t1, (unsigned long long)t2);
    CHECK_MSG(t1 == sampled_outer && t2 == sampled_inner, "records %llu/%llu, slot %llu/%llu",
              (unsigned long long)t1, (unsigned long long)t2, (unsigned long long)sampled_outer,
              (unsigned long long)sampled_inner);
    CHECK_MSG(renamed_outer == (int)t1 && renamed_inner == (int)t2, "renamed %d/%d", renamed_outer, renamed_inner);
    CHECK(site_stat(1001).live_samples == t1 && site_stat(2002).live_samples == t2);
    CHECK(site_stat(TOKEN(1)).live_samples == 0 && site_stat(TOKEN(2)).live_samples == 0);
    CHECK(t1 > 8);   /* more than a thread remembers: the rename scanned */
    /* a rename from another thread, of a permanent id: a scan */
    CHECK(api.rename(1001, 3003) == (int)t1);
    CHECK(site_stat(3003).live_samples == t1 && site_stat(1001).live_samples == 0);
    for (int i = 0; i < 2000; i++) free(objs[i]);
    CHECK(site_stat(3003).live_samples == 0 && site_stat(2002).live_samples == 0);
}

/* ---- pinned pages ----
 * 256-B objects: a span is one page of 16 (hz3_types.h: small spans hold
 * 4096 / size blocks, at least 16). Two sites take turns, D on the even
 * objects and E on the odd ones; of every 8, D keeps 3 and E keeps 1, the
 * rest are freed whether sampled or not, so every page is half used and
 * D's objects are three quarters of those left. Most kept objects are no
 * sample: the census must scale the samples' pages to the class's own. */
#define PIN_N (16 * 1024)
#define PIN_SIZE 256
#define SITE_D 0xD
#define SITE_E 0xE
static void *pin_objs[PIN_N];
static void *pin_workload(void *arg)
{
    struct hz3_site_slot *slot = api.slot();
    for (int i = 0; i < PIN_N; i++) {
        slot->site = i % 2 ? SITE_E : SITE_D;
        pin_objs[i] = malloc(PIN_SIZE);
        memset(pin_objs[i], 1, PIN_SIZE);
    }
    slot->site = 0;
    return NULL;
}

static bool pin_kept(int i) { return i % 4 == 0 || i % 8 == 1 || i % 8 == 2; }

static int by_address(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void test_pinned(void)
{
    api.set(1024);
    run_thread(pin_workload, NULL);
    take_all();
    static uintptr_t kept[PIN_N];
    size_t nk = 0;
    for (int i = 0; i < PIN_N; i++) {
        if (pin_kept(i)) kept[nk++] = (uintptr_t)pin_objs[i];
        else free(pin_objs[i]);
    }
    /* the partial pages the kept objects make, and their unused bytes */
    qsort(kept, nk, sizeof *kept, by_address);
    uint64_t pages = 0, unused = 0;
    for (size_t i = 0; i < nk;) {
        size_t j = i;
        while (j < nk && kept[j] >> 12 == kept[i] >> 12) j++;
        if (j - i < 4096 / PIN_SIZE) {
            pages++;
            unused += 4096 - (j - i) * PIN_SIZE;
        }
        i = j;
    }
    struct hz3_site_stat d = site_stat(SITE_D), e = site_stat(SITE_E);
    printf("pinned: site D %llu samples, %llu pages (%llu B unused), site E %llu samples, %llu pages (%llu B);"
           " the kept objects make %llu partial pages (%llu B unused)\n",
           (unsigned long long)d.live_samples, (unsigned long long)d.pinned_pages,
           (unsigned long long)d.pinned_bytes, (unsigned long long)e.live_samples,
           (unsigned long long)e.pinned_pages, (unsigned long long)e.pinned_bytes, (unsigned long long)pages,
           (unsigned long long)unused);
    /* About 1,800 samples of 8,192 kept objects (p = 0.22 each): the
     * estimate of their count, hence of their pages, has a relative sd of
     * about 2.3%, so 5 sd is 12%. */
    uint64_t sum = d.pinned_pages + e.pinned_pages, sum_bytes = d.pinned_bytes + e.pinned_bytes;
    CHECK_MSG(sum * 100 >= pages * 88 && sum * 100 <= pages * 112, "sites pin %llu pages, the kept objects make %llu",
              (unsigned long long)sum, (unsigned long long)pages);
    CHECK_MSG(sum_bytes * 100 >= unused * 88 && sum_bytes * 100 <= unused * 112,
              "sites pin %llu B, the kept objects leave %llu B unused", (unsigned long long)sum_bytes,
              (unsigned long long)unused);
    /* D keeps 3 of every 4 objects left: its share's sd is about 0.01 */
    double share = sum ? (double)d.pinned_pages / (double)sum : 0;
    CHECK_MSG(share > 0.69 && share < 0.81, "site D's share of the pinned pages is %.3f, expected 0.75", share);
    for (int i = 0; i < PIN_N; i++)
        if (pin_kept(i)) free(pin_objs[i]);
    CHECK(site_stat(SITE_D).live_samples == 0 && site_stat(SITE_E).live_samples == 0);
    api.set(RATE_MEAN);
}

/* ---- a sampled object freed twice (child processes) ---- */

static int double_case(bool another_sample_in_span)
{
    load_api();
    api.set(1024);
    struct hz3_sample_rec r;
    static void *sampled[4096];
    int n = 0;
    for (int i = 0; i < 4096; i++) {
        void *p = malloc(64);
        while (api.take(&r, 1) == 1)
            if (r.addr == (uintptr_t)p) sampled[n++] = p;
    }
    /* a, and with it a second live sample on its page (so its span stays
     * tagged after the first free), or none */
    void *a = NULL;
    for (int i = 0; i < n && !a; i++)
        for (int j = 0; j < n && !a; j++)
            if (i != j && ((uintptr_t)sampled[i] >> 12) == ((uintptr_t)sampled[j] >> 12)) a = sampled[i];
    if (!another_sample_in_span) a = n ? sampled[0] : NULL;
    if (!a) return 7;
    printf("%p\n", a);
    fflush(stdout);
    free(a);
    free(a);
    return 0;
}

static void test_double_free(const char *self)
{
    static const char *cases[] = { "double-sampled", "double-sampled-span-tagged" };
    for (int i = 0; i < 2; i++) {
        static char err[4096];
        char *argv[] = { (char *)self, "case", (char *)cases[i], NULL };
        int st = t_run(argv, NULL, err, sizeof err);
        CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && strstr(err, "double free"),
                  "%s: status %d, stderr: %s", cases[i], st, err);
    }
}

/* ---- many threads, remote frees, sampling on: the invariants hold ---- */

#define MIX_THREADS 4
#define MIX_SLOTS 4096
static void *mix_slots[MIX_THREADS][MIX_SLOTS];
static void *mix_worker(void *arg)
{
    int me = (int)(uintptr_t)arg;
    uint64_t seed = 42 + me;
    /* The thread's first malloc may make glibc grow its TLS vector (a
     * malloc it keeps with the thread's cached stack): before the site. */
    free(malloc(1));
    api.slot()->site = 0x700 + me;
    for (int round = 0; round < 200000; round++) {
        uint64_t r = t_rand(&seed);
        int who = (int)(r % MIX_THREADS), k = (int)((r >> 8) % MIX_SLOTS);
        void **slot = &mix_slots[who][k];
        void *old = __atomic_exchange_n(slot, NULL, __ATOMIC_ACQ_REL);
        free(old);   /* often another thread's object: a remote free */
        size_t size = (r >> 32) % 16 == 0 ? (r >> 40) % 100000 : (r >> 40) % 600;
        void *p = malloc(size + 1);
        old = __atomic_exchange_n(&mix_slots[me][k], p, __ATOMIC_ACQ_REL);
        free(old);
    }
    api.slot()->site = 0;   /* as the agent does when a call ends: the thread's exit is not the site's */
    return NULL;
}

/* Live samples of the workers' sites: the process's own allocations meanwhile
 * (glibc keeps a thread's TLS vector with its cached stack) are not theirs. */
static uint64_t mix_live(void)
{
    uint64_t n = 0;
    for (int i = 0; i < MIX_THREADS; i++) n += site_stat(0x700 + i).live_samples;
    return n;
}

static void test_threads(void)
{
    uint64_t base = mix_live();
    api.set(4096);
    pthread_t t[MIX_THREADS];
    for (int i = 0; i < MIX_THREADS; i++) pthread_create(&t[i], NULL, mix_worker, (void *)(uintptr_t)i);
    for (int i = 0; i < MIX_THREADS; i++) pthread_join(t[i], NULL);
    CHECK(t_hz3()->validate() == 0);
    CHECK(mix_live() > base);
    for (int i = 0; i < MIX_THREADS; i++)
        for (int k = 0; k < MIX_SLOTS; k++) free(mix_slots[i][k]);
    CHECK_MSG(mix_live() == base, "%llu samples live after every object was freed",
              (unsigned long long)(mix_live() - base));
    CHECK(t_hz3()->validate() == 0);
    take_all();
    api.set(RATE_MEAN);
}

/* ---- hz3's maintenance thread is no call site's (child processes) ---- */

/* The thread that starts hz3's maintenance thread (here through the
 * listener) has pthread_create allocate the new thread's TLS vector (a few
 * hundred bytes on a first-time stack), live as long as that thread, so as
 * long as the process. It is hz3's own: no sample, neither of the site the
 * starting thread has set nor in the count of live samples. Once per
 * process: each child starts it afresh, on a new thread whose first malloc
 * of the vector's class draws its sample point afresh (at mean 1024 about
 * one child in four sampled the vector). */
#define SITE_MAINT 0x3A17
static void no_listener(void *ctx, int kind, const void *data) {}
static void *maint_starter(void *arg)
{
    free(malloc(1));   /* the thread's heap, before the site */
    api.slot()->site = SITE_MAINT;
    uint64_t before = live_samples();
    if (t_hz3()->set_listener(no_listener, NULL) != 0) return (void *)4;
    uint64_t after = live_samples();
    api.slot()->site = 0;
    return (void *)(uintptr_t)(site_stat(SITE_MAINT).live_samples || after != before);
}

static int maint_case(void)
{
    load_api();
    api.set(1024);
    pthread_t t;
    void *rc;
    if (pthread_create(&t, NULL, maint_starter, NULL) != 0) return 3;
    pthread_join(t, &rc);
    return (int)(uintptr_t)rc;
}

static void test_maintenance_site(const char *self)
{
    /* before the fix one child in four failed: 32 children miss that with
     * probability 0.73^32, about 4e-5 */
    enum { CHILDREN = 32 };
    int charged = 0;
    for (int i = 0; i < CHILDREN; i++) {
        static char err[4096];
        char *argv[] = { (char *)self, "case", "maint", NULL };
        int st = t_run(argv, NULL, err, sizeof err);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) <= 1, "maint: status %d, stderr: %s", st, err);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 1) charged++;
    }
    CHECK_MSG(charged == 0, "%d of %d children kept a sample of the maintenance thread's start (of the site of"
              " the thread that started it)", charged, CHILDREN);
}

/* HZ3_SAMPLE_BYTES turns sampling on from the start; a bad value is named
 * on one line and sampling stays off. */
static int env_case(uint64_t mean)
{
    load_api();
    for (int i = 0; i < 100000; i++) free(malloc(100));   /* class 112 B */
    struct hz3_sampling_stats st;
    api.stats(&st);
    if (st.mean_bytes != mean) return 3;
    double p = mean ? prob(112, (double)mean) : 0, expect = 100000 * p, sd = t_sqrt(100000 * p * (1 - p));
    return t_abs((double)st.samples_taken - expect) <= 5 * sd ? 0 : 4;
}

static void test_env(const char *self)
{
    static char err[4096];
    char *good_argv[] = { (char *)self, "case", "env", "65536", NULL };
    char *bad_argv[] = { (char *)self, "case", "env", "0", NULL };
    char *good[] = { "HZ3_SAMPLE_BYTES=65536", NULL }, *bad[] = { "HZ3_SAMPLE_BYTES=12", NULL };
    int st = t_run(good_argv, good, err, sizeof err);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0 && err[0] == 0, "status %d, stderr: %s", st, err);
    st = t_run(bad_argv, bad, err, sizeof err);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
                  strstr(err, "hz3: ignoring HZ3_SAMPLE_BYTES='12': allowed values are 0 (off) or 1024..") &&
                  strchr(err, '\n') == err + strlen(err) - 1,
              "status %d, stderr: %s", st, err);
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "case") && !strcmp(argv[2], "env")) return env_case(strtoull(argv[3], NULL, 10));
    if (argc == 3 && !strcmp(argv[1], "case")) {
        if (!strcmp(argv[2], "double-sampled")) return double_case(false);
        if (!strcmp(argv[2], "double-sampled-span-tagged")) return double_case(true);
        if (!strcmp(argv[2], "maint")) return maint_case();
        return 9;
    }
    load_api();
    test_off();
    test_on_while_cached();
    CHECK(api.set(RATE_MEAN) == 0);
    test_rate();
    test_frees();
    test_big();
    test_rename();
    test_pinned();
    test_threads();
    static char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = 0;
        test_double_free(self);
        test_env(self);
        test_maintenance_site(self);
    }
    struct hz3_sampling_stats st;
    api.stats(&st);
    CHECK(st.table_dropped == 0);
    return t_finish("test-sampling");
}
