/*
 * test-sampling-lists.c: with sampling on, every block of a list the fast
 * path takes over from local_free is counted, however short the list (a
 * takeover is charged in alloc.c and sample.h without walking the list:
 * its length comes from the span's counts). The workload keeps one span of
 * a small class full and, each round, frees k of its blocks (k = 1..4)
 * then mallocs k: the first malloc finds free empty and takes over the k
 * blocks, the others pop them. The count of samples has a known mean and
 * variance (test-sampling.c: probability 1 - e^(-s/N) per object of s
 * bytes); a takeover charged one block short would take about 40% off it.
 * Then the same count for singles whose malloc hits the heap's cache.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include "test_util.h"

#define SIZE 48
#define MEAN 4096
#define ROUNDS 150000
#define MAX_OBJS 65536
#define SITE 0x115c
#define SINGLE_SIZE (24 << 10)
#define SINGLE_MEAN (1 << 20)
#define SINGLE_N 40000

static void *objs[MAX_OBJS];

/* e^-x and sqrt without libm (the tests link only libdl). */
static double t_exp_neg(double x)
{
    double t = 1, s = 1;
    for (int n = 1; n < 40; n++) {
        t *= -x / n;
        s += t;
    }
    return s;
}
static double t_sqrt(double v)
{
    double r = v > 1 ? v : 1;
    for (int i = 0; i < 60; i++) r = 0.5 * (r + v / r);
    return r;
}

int main(void)
{
    t_hz3();
    int (*set)(uint64_t) = (int (*)(uint64_t))dlsym(RTLD_DEFAULT, "hz3_sampling_set");
    struct hz3_site_slot *(*slot_of)(void) = (struct hz3_site_slot * (*)(void)) dlsym(RTLD_DEFAULT, "hz3_site_slot");
    if (!set || !slot_of) {
        fprintf(stderr, "libhz3 lacks the sampling interface\n");
        return 2;
    }
    /* A fresh span hands its blocks out in address order, so an address
     * that does not follow the last one starts a span: the blocks between
     * the first two such starts are one whole span (the first span may be
     * shared with what the process allocated before main). */
    size_t sz = malloc_usable_size(objs[0] = malloc(SIZE)), n = 1, start[2], starts = 0;
    while (starts < 2 && n < MAX_OBJS) {
        char *p = objs[n++] = malloc(SIZE);
        if (p != (char *)objs[n - 2] + sz) start[starts++] = n - 1;
    }
    CHECK_MSG(starts == 2, "no two span starts in %zu blocks of %zu B", n, sz);
    if (starts != 2) return t_finish("test-sampling-lists");
    size_t cap = start[1] - start[0], base = start[1];
    /* fill the span just started: then its free list is empty, and so is
     * local_free, until the rounds below free blocks of it */
    for (size_t i = 1; i < cap; i++) {
        char *p = objs[n++] = malloc(SIZE);
        CHECK_MSG(p == (char *)objs[n - 2] + sz, "block %zu of the span of %zu does not follow", i, cap);
    }
    CHECK_MSG(cap >= 8, "a span of %zu blocks of %zu B", cap, sz);

    CHECK(set(MEAN) == 0);
    struct hz3_site_slot *slot = slot_of();
    slot->site = SITE;
    uint64_t before = slot->sampled, mallocs = 0, seed = 7;
    bool lifo = true;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t x = t_rand(&seed);
        size_t k = 1 + x % 4, idx[4];
        void *freed[4];
        for (size_t j = 0; j < k; j++) {
            size_t i;
            bool again;
            do {   /* k distinct blocks of the span */
                i = base + (size_t)(t_rand(&seed) % cap);
                again = false;
                for (size_t q = 0; q < j; q++) again |= idx[q] == i;
            } while (again);
            idx[j] = i;
            freed[j] = objs[i];
            free(objs[i]);
        }
        for (size_t j = 0; j < k; j++) {
            void *p = malloc(SIZE);
            /* the list taken over is local_free, last freed first: the
             * workload is the one this test means */
            lifo &= p == freed[k - 1 - j];
            objs[idx[k - 1 - j]] = p;
        }
        mallocs += k;
    }
    uint64_t k = slot->sampled - before;
    slot->site = 0;
    CHECK_MSG(lifo, "a malloc did not return the block freed last: the span's lists are not the ones taken over");
    double p = 1 - t_exp_neg((double)sz / MEAN), expect = (double)mallocs * p, sd = t_sqrt((double)mallocs * p * (1 - p));
    double d = (double)k - expect;
    CHECK_MSG(d <= 5 * sd && -d <= 5 * sd, "%llu samples of %llu mallocs of %zu B at mean %d: expected %.1f +- %.1f",
              (unsigned long long)k, (unsigned long long)mallocs, sz, MEAN, expect, 5 * sd);
    printf("lists: %llu samples of %llu mallocs of %zu B from lists of 1-4 blocks (span of %zu), expected %.1f\n",
           (unsigned long long)k, (unsigned long long)mallocs, sz, cap, expect);
    for (size_t i = 0; i < n; i++) free(objs[i]);
    CHECK(t_hz3()->validate() == 0);

    /* Singles (a class of one object a span): after the first, each malloc
     * of this loop finds the span just freed in its heap's cache, and is
     * counted there (single.c). */
    free(malloc(SINGLE_SIZE));
    size_t single = malloc_usable_size(objs[0] = malloc(SINGLE_SIZE));
    free(objs[0]);
    CHECK(set(SINGLE_MEAN) == 0);
    slot->site = SITE;
    before = slot->sampled;
    for (int i = 0; i < SINGLE_N; i++) free(malloc(SINGLE_SIZE));
    k = slot->sampled - before;
    slot->site = 0;
    p = 1 - t_exp_neg((double)single / SINGLE_MEAN), expect = SINGLE_N * p, sd = t_sqrt(SINGLE_N * p * (1 - p));
    d = (double)k - expect;
    CHECK_MSG(d <= 5 * sd && -d <= 5 * sd, "%llu samples of %d singles of %zu B at mean %d: expected %.1f +- %.1f",
              (unsigned long long)k, SINGLE_N, single, SINGLE_MEAN, expect, 5 * sd);
    printf("singles: %llu samples of %d mallocs of %zu B, expected %.1f\n", (unsigned long long)k, SINGLE_N, single,
           expect);
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-sampling-lists");
}
