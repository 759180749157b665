/*
 * test-purge-uptime.c: the purge delay holds on a machine booted less
 * than a delay ago. hz3's clock counts from boot (CLOCK_MONOTONIC), and a
 * purge's cut-off of "now - delay" wrapped below zero there, so the first
 * epoch purged every free page however recent (a fresh CI machine failed
 * test-purge). The test runs itself again in a new time namespace whose
 * monotonic clock reads about a minute, where a delay of an hour is longer
 * than the uptime, and checks that an epoch keeps memory freed just now.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include "test_util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

enum { N = 20000, UPTIME_S = 60 };
static void *p[N];

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* In the namespace: memory freed now stays through an epoch. */
static void young_machine(void)
{
    const t_hz3_api *hz = t_hz3();
    double up = monotonic_s();
    CHECK_MSG(up < UPTIME_S + 30, "the clock reads %.0f s: the time namespace did not take", up);
    CHECK(hz->config_set("epoch_interval_ms", 0) == 0);
    CHECK(hz->config_set("purge_delay_ms", 3600000) == 0);
    for (int i = 0; i < N; i++) {
        p[i] = malloc(1000);
        memset(p[i], 0x5a, 1000);
    }
    for (int i = 0; i < N; i++) free(p[i]);
    size_t rss_before = t_hz3_rss();
    struct hz3_stats s0 = t_stats();
    hz->epoch_force();
    struct hz3_stats s1 = t_stats();
    size_t rss_after = t_hz3_rss();
    CHECK_MSG(s1.pages_purged == s0.pages_purged, "an epoch %.0f s after boot purged %llu pages freed just now",
              up, (unsigned long long)(s1.pages_purged - s0.pages_purged));
    CHECK_MSG(rss_after * 10 >= rss_before * 9, "rss %zu -> %zu KiB", rss_before >> 10, rss_after >> 10);
    /* The delay is the only thing that held them: a purge that ignores it takes them. */
    size_t rss_full = t_hz3_rss();
    CHECK(malloc_trim(0) == 1);
    CHECK_MSG(t_hz3_rss() + (8u << 20) < rss_full, "malloc_trim left rss at %zu of %zu KiB", t_hz3_rss() >> 10,
              rss_full >> 10);
}

/* A time namespace for the children; as root directly, else as root of a
 * new user namespace (unprivileged ones: Debian allows them). */
static bool enter_young_time(void)
{
    if (unshare(CLONE_NEWTIME) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWTIME) != 0) {
        printf("test-purge-uptime: no time namespace here (%s)\n", strerror(errno));
        return false;
    }
    FILE *f = fopen("/proc/self/timens_offsets", "w");
    CHECK(f != NULL);
    if (!f) return false;
    long offset = UPTIME_S - (long)monotonic_s();
    fprintf(f, "monotonic %ld 0\n", offset);
    CHECK_MSG(fclose(f) == 0, "timens_offsets: %s", strerror(errno));
    return true;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "young") == 0) {
        young_machine();
        return t_finish("test-purge-uptime (child)");
    }
    if (monotonic_s() < UPTIME_S + 30) {
        young_machine();   /* the machine is young already */
    } else if (enter_young_time()) {
        char err[4096];
        char *args[] = { argv[0], "young", NULL };
        fflush(stdout);
        int st = t_run(args, NULL, err, sizeof err);
        fputs(err, stderr);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child in the time namespace failed (status %#x)", st);
    } else {
        CHECK_MSG(false, "could not make a time namespace: run as root or allow user namespaces");
    }
    return t_finish("test-purge-uptime");
}
