/*
 * census_probe.c: preloaded after libhz3.so (LD_PRELOAD="libhz3.so census_probe.so"), writes an
 * exact hz3 census every HZ3_PROBE_MS (500) ms to HZ3_PROBE_FILE, one tab-separated line each,
 * with VmRSS and the process's minor faults: where a JVM's resident bytes sit while it works.
 * Each census is an epoch of its own (hz3_obs_snapshot), so the probe adds one epoch per period;
 * HZ3_PROBE_CENSUS=0 writes VmRSS and faults only (the census columns zero), adding none.
 * Columns in MiB but t_ms (since the probe started), segments (active) and minflt (the process's).
 * Build: cc -O2 -shared -fPIC -o census_probe.so census_probe.c -lpthread (bench/jvm/ab.sh does).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../../native-hz3/include/hz3.h"
#pragma weak hz3_obs_snapshot   /* absent under another allocator: HZ3_PROBE_CENSUS=0 only */

static FILE *out;
static long period_ms = 500;
static int census = 1;   /* HZ3_PROBE_CENSUS=0: VmRSS and faults only, no epochs of the probe's */

static long rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

static unsigned long long minflt(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long long v = 0;
    /* after ')': state ppid pgrp session tty tpgid flags minflt */
    if (p) sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %llu", &v);
    return v;
}

static double mib(unsigned long long x) { return (double)x / 1048576.0; }

static void *probe_main(void *arg)
{
    (void)arg;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    static struct hz3_snapshot s;
    fprintf(out, "t_ms\trss\tfree_empty\tfree_decommitted\tfree_untouched\tspans_small_sub4k_medium\truns_in_segments\t"
                 "large_resident\tlarge_live\tlarge_cached\theaders\tsegments\tminflt\n");
    for (;;) {
        struct timespec d = { period_ms / 1000, (period_ms % 1000) * 1000000L };
        nanosleep(&d, NULL);
        memset(&s, 0, sizeof s);
        s.size = sizeof s;
        if (census && (!hz3_obs_snapshot || hz3_obs_snapshot(&s) != 0)) continue;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        const struct hz3_tier_census *fr = &s.tier[HZ3_TIER_FREE];
        unsigned long long span_res = 0;
        for (int k = 0; k < 3; k++)
            span_res += s.tier[k].pages[HZ3_PS_EMPTY] + s.tier[k].pages[HZ3_PS_FULL] + s.tier[k].pages[HZ3_PS_PARTIAL];
        const struct hz3_tier_census *lt = &s.tier[HZ3_TIER_LARGE];
        unsigned long long lt_res = lt->pages[HZ3_PS_EMPTY] + lt->pages[HZ3_PS_FULL] + lt->pages[HZ3_PS_PARTIAL];
        fprintf(out, "%ld\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%llu\t%llu\n", ms,
                rss_kb() / 1024.0, mib(fr->pages[HZ3_PS_EMPTY] * 4096ull), mib(fr->pages[HZ3_PS_DECOMMITTED] * 4096ull),
                mib(fr->pages[HZ3_PS_UNTOUCHED] * 4096ull), mib(span_res * 4096ull), mib(lt_res * 4096ull),
                mib(s.large_resident_bytes), mib(s.large_bytes), mib(s.large_cached_bytes),
                mib(s.header_resident_bytes), (unsigned long long)s.segments_total, minflt());
        fflush(out);
    }
    return NULL;
}

__attribute__((constructor)) static void probe_start(void)
{
    const char *path = getenv("HZ3_PROBE_FILE");
    if (!path) return;
    const char *ms = getenv("HZ3_PROBE_MS");
    if (ms) period_ms = atol(ms) > 0 ? atol(ms) : 500;
    const char *c = getenv("HZ3_PROBE_CENSUS");
    if (c) census = atoi(c) != 0;
    out = fopen(path, "w");
    if (!out) return;
    pthread_t th;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_create(&th, &a, probe_main, NULL);
    pthread_attr_destroy(&a);
}
