/*
 * site_census_cost: what one hz3_site_census call costs on a fragmented
 * heap, and what it says the one site pins. Allocates MIB of blocks of
 * 16..1024 B under one site (Fragment's shape), keeps 1 in 16, then calls
 * hz3_site_census REPS times and prints the mean time per call. Run it with
 * hz3 preloaded (under callgrind with --toggle-collect=hz3_site_census for
 * instruction counts).
 *   site_census_cost [MIB] [REPS] [SAMPLE_BYTES]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* include/hz3.h's, as the benches link nothing of hz3 */
struct hz3_site_slot { volatile uint64_t site; volatile uint64_t sampled; };
struct hz3_site_stat { uint64_t site, live_samples, live_bytes_est, oldest_age_ms, pinned_pages, pinned_bytes; };

#define SITE 7

static void *sym(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);
    if (!p) {
        fprintf(stderr, "site_census_cost: hz3 with sampling is not preloaded (no %s)\n", name);
        exit(2);
    }
    return p;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 128;
    int reps = argc > 2 ? atoi(argv[2]) : 50;
    uint64_t mean = argc > 3 ? strtoull(argv[3], NULL, 10) : 524288;
    int (*set)(uint64_t);
    struct hz3_site_slot *(*slot)(void);
    size_t (*census)(struct hz3_site_stat *, size_t);
    void *p = sym("hz3_sampling_set");
    memcpy(&set, &p, sizeof set);   /* POSIX allows it; ISO C needs the copy */
    p = sym("hz3_site_slot");
    memcpy(&slot, &p, sizeof slot);
    p = sym("hz3_site_census");
    memcpy(&census, &p, sizeof census);
    if (reps < 1 || set(mean) != 0) {
        fprintf(stderr, "site_census_cost: bad REPS or SAMPLE_BYTES\n");
        return 2;
    }
    slot()->site = SITE;
    size_t n = mib * 1024 * 1024 / 520;
    void **v = malloc(n * sizeof *v);
    uint64_t r = 1;
    for (size_t i = 0; i < n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = malloc(16 + (r >> 33) % 1009);
        memset(v[i], 1, 16);
    }
    for (size_t i = 0; i < n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        if ((r >> 40) % 16) {
            free(v[i]);
            v[i] = NULL;
        }
    }
    slot()->site = 0;
    static struct hz3_site_stat st[64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t sites = 0;
    for (int i = 0; i < reps; i++) sites = census(st, 64);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / reps / 1e3;
    for (size_t i = 0; i < sites && i < 64; i++)
        if (st[i].site == SITE)
            printf("site: %llu live samples, pinned %llu pages, %llu B; ", (unsigned long long)st[i].live_samples,
                   (unsigned long long)st[i].pinned_pages, (unsigned long long)st[i].pinned_bytes);
    printf("hz3_site_census: %.1f us per call\n", us);
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
    return 0;
}
