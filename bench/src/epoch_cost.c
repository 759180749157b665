/*
 * epoch_cost: what one hz3 epoch costs. Builds a heap over many segments
 * (objects of every segment tier, touched, a third freed), then times
 * hz3_epoch_force() REPS times and prints median and max. Run it with hz3
 * preloaded; HZ3_SCAN_SEG_BUDGET sets the census budget (default 64).
 *   epoch_cost [MIB] [REPS]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
    int reps = argc > 2 ? atoi(argv[2]) : 200;
    uint64_t (*force)(void);
    void *sym = dlsym(RTLD_DEFAULT, "hz3_epoch_force");
    memcpy(&force, &sym, sizeof force);   /* POSIX allows it; ISO C needs the copy */
    if (!force) {
        fprintf(stderr, "epoch_cost: hz3 is not preloaded\n");
        return 2;
    }
    size_t n = mib * 1024 * 1024 / 2000, bytes = 0;
    void **v = malloc(n * sizeof *v);
    uint64_t r = 1;
    for (size_t i = 0; i < n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        size_t sz = (r >> 33) % 10 == 0 ? 4097 + (r >> 20) % 20000 : 16 + (r >> 24) % 2000;
        v[i] = malloc(sz);
        memset(v[i], 1, sz);
        bytes += sz;
    }
    for (size_t i = 0; i < n; i += 3) free(v[i]);
    uint64_t *t = malloc((size_t)reps * sizeof *t);
    for (int i = 0; i < reps; i++) {
        uint64_t t0 = now_ns();
        force();
        t[i] = now_ns() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    const char *budget = getenv("HZ3_SCAN_SEG_BUDGET");
    printf("RESULT bench=epoch_cost heap_mib=%zu objects=%zu budget=%s reps=%d median_us=%.1f max_us=%.1f\n",
           bytes >> 20, n, budget ? budget : "64", reps, t[reps / 2] / 1000.0, t[reps - 1] / 1000.0);
    return 0;
}
