/*
 * rss_sampler - run a command and record its resident set size as a time series.
 *
 *   rss_sampler [--interval-ms 50] [--timeout-s 0] -- CMD ARGS...
 *
 * Runs CMD (rss_watch.h: its output passes straight through), reads its VmRSS right after the
 * exec and then every interval until it exits, and prints
 *
 *   RSS samples=N mean_kb=M p95_kb=P max_kb=X maxrss_kb=H
 *
 * after the command's own output. p95 is nearest-rank (the ceil(0.95*N)-th smallest sample).
 * maxrss_kb is the kernel's peak RSS (wait4 ru_maxrss) and catches peaks between samples. The
 * exit status of the command is propagated (128+signal if it was killed). With --timeout-s > 0
 * the command is SIGKILLed after that many seconds.
 */
#include "rss_watch.h"

static void usage(void)
{
    fprintf(stderr, "usage: rss_sampler [--interval-ms MS] [--timeout-s S] -- CMD ARGS...\n");
    exit(2);
}

struct samples {
    long *kb;
    size_t n, cap;
};

static int keep(void *ctx, pid_t pid, long kb, long long wall_ms, long long since_ms)
{
    (void)pid, (void)wall_ms, (void)since_ms;
    struct samples *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        long *kbs = realloc(s->kb, cap * sizeof *kbs);
        if (!kbs) {
            perror("rss_sampler: realloc");
            return 1;
        }
        s->kb = kbs;
        s->cap = cap;
    }
    s->kb[s->n++] = kb;
    return 0;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct samples s = {0};
    struct rss_watch w = {.name = "rss_sampler", .interval_ms = 50, .sample = keep, .ctx = &s};
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc) {
            w.interval_ms = rss_watch_parse(w.name, argv[++i], "interval");
        } else if (!strcmp(argv[i], "--timeout-s") && i + 1 < argc) {
            w.timeout_s = rss_watch_parse(w.name, argv[++i], "timeout");
        } else {
            usage();
        }
    }
    if (i >= argc || w.interval_ms <= 0)
        usage();

    int rc = rss_watch_run(&w, &argv[i]);
    if (rc == 125 || rc == 127)
        return rc;

    long max_kb = 0, p95 = 0;
    double mean = 0;
    if (s.n > 0) {
        qsort(s.kb, s.n, sizeof *s.kb, cmp_long);
        long double sum = 0;
        for (size_t k = 0; k < s.n; k++)
            sum += s.kb[k];
        mean = (double)(sum / (long double)s.n);
        size_t rank = (95 * s.n + 99) / 100; /* ceil(0.95 * n), 1-based */
        p95 = s.kb[rank - 1];
        max_kb = s.kb[s.n - 1];
    }
    printf("RSS samples=%zu mean_kb=%.0f p95_kb=%ld max_kb=%ld maxrss_kb=%ld\n", s.n, mean, p95,
           max_kb, (long)w.usage.ru_maxrss);
    fflush(stdout);
    free(s.kb);
    return rc;
}
