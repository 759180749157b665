/*
 * rss_series - run a command and write its resident set size as a time series.
 *
 *   rss_series --out FILE [--interval-ms 50] [--timeout-s 0]
 *              [--maps FILE] [--maps-at-ms 1000] -- CMD ARGS...
 *
 * Runs CMD (../src/rss_watch.h), reads its VmRSS right after the exec and every interval until
 * it exits, writing one TSV line per sample to FILE:
 *
 *   t_ms<TAB>rss_kb
 *
 * t_ms is the wall clock (CLOCK_REALTIME, milliseconds since the epoch): the clock of Java's
 * System.currentTimeMillis(), so the samples line up with the "PHASE <name> t_ms=..." lines the
 * samples print (dev.hz3.samples.Phases). With --maps, /proc/PID/maps is copied to that file
 * once, at the first sample at least --maps-at-ms after the exec, to show which libraries the
 * process really has mapped. After the command exits it prints
 *
 *   RSS_SERIES samples=N maxrss_kb=H cpu_ms=C
 *
 * (maxrss_kb is the kernel's peak from wait4, cpu_ms the CPU time, user and system, of the whole
 * process: all its threads, from wait4) and returns the command's exit status (128+signal if it
 * was killed). --timeout-s SIGKILLs the command after that long.
 */
#include "../src/rss_watch.h"

static void usage(void)
{
    fprintf(stderr, "usage: rss_series --out FILE [--interval-ms MS] [--timeout-s S] "
                    "[--maps FILE] [--maps-at-ms MS] -- CMD ARGS...\n");
    exit(2);
}

/* Copies /proc/PID/maps to dst; 0 on success. */
static int copy_maps(pid_t pid, const char *dst)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *in = fopen(path, "r");
    if (!in)
        return -1;
    FILE *out = fopen(dst, "w");
    if (!out) {
        fclose(in);
        return -1;
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    return fclose(out) == 0 ? 0 : -1;
}

struct series {
    FILE *out;
    long samples;
    const char *maps_path; /* NULL once copied, or when not asked for */
    long maps_at_ms;
};

static int write_sample(void *ctx, pid_t pid, long kb, long long wall_ms, long long since_ms)
{
    struct series *s = ctx;
    fprintf(s->out, "%lld\t%ld\n", wall_ms, kb);
    s->samples++;
    if (s->maps_path && since_ms >= s->maps_at_ms) {
        if (copy_maps(pid, s->maps_path) != 0)
            fprintf(stderr, "rss_series: could not copy /proc/%d/maps to %s\n", (int)pid, s->maps_path);
        s->maps_path = NULL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct series s = {.maps_at_ms = 1000};
    struct rss_watch w = {.name = "rss_series", .interval_ms = 50, .sample = write_sample, .ctx = &s};
    const char *out_path = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc) {
            w.interval_ms = rss_watch_parse(w.name, argv[++i], "interval");
        } else if (!strcmp(argv[i], "--timeout-s") && i + 1 < argc) {
            w.timeout_s = rss_watch_parse(w.name, argv[++i], "timeout");
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out_path = argv[++i];
        } else if (!strcmp(argv[i], "--maps") && i + 1 < argc) {
            s.maps_path = argv[++i];
        } else if (!strcmp(argv[i], "--maps-at-ms") && i + 1 < argc) {
            s.maps_at_ms = rss_watch_parse(w.name, argv[++i], "maps time");
        } else {
            usage();
        }
    }
    if (i >= argc || w.interval_ms <= 0 || !out_path)
        usage();

    s.out = fopen(out_path, "w");
    if (!s.out) {
        fprintf(stderr, "rss_series: cannot write %s: %s\n", out_path, strerror(errno));
        return 125;
    }
    fputs("t_ms\trss_kb\n", s.out);
    int rc = rss_watch_run(&w, &argv[i]);
    if (fclose(s.out) != 0) {
        fprintf(stderr, "rss_series: error writing %s\n", out_path);
        return 125;
    }
    if (rc == 125 || rc == 127)
        return rc;
    const struct rusage *ru = &w.usage;
    long long cpu_ms = ((long long)ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000 +
                       ((long long)ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000;
    printf("RSS_SERIES samples=%ld maxrss_kb=%ld cpu_ms=%lld\n", s.samples, ru->ru_maxrss, cpu_ms);
    fflush(stdout);
    return rc;
}
