/*
 * rss_series - run a command and write its resident set size as a time series.
 *
 *   rss_series --out FILE [--interval-ms 50] [--timeout-s 0]
 *              [--maps FILE] [--maps-at-ms 1000] -- CMD ARGS...
 *
 * Forks and execs CMD (environment inherited, stdout/stderr shared), then reads
 * VmRSS from /proc/PID/status right after the exec and every interval until the
 * child exits, writing one TSV line per sample to FILE:
 *
 *   t_ms<TAB>rss_kb
 *
 * t_ms is the wall clock (CLOCK_REALTIME, milliseconds since the epoch): the
 * clock of Java's System.currentTimeMillis(), so the samples line up with the
 * "PHASE <name> t_ms=..." lines the samples print (dev.hz3.samples.Phases).
 * With --maps, /proc/PID/maps is copied to that file once, at the first sample
 * at least --maps-at-ms after the exec, to show which libraries the process
 * really has mapped. After the child exits it prints
 *
 *   RSS_SERIES samples=N maxrss_kb=H cpu_ms=C
 *
 * (maxrss_kb is the kernel's peak from wait4, cpu_ms the CPU time, user and
 * system, of the whole process: all its threads, from wait4) and returns the child's exit
 * status (128+signal if it was killed). --timeout-s SIGKILLs the child after
 * that long. As with ../src/rss_sampler.c, wrap CMD with exec-style tools
 * (`env VAR=x prog`), not forking ones, or the wrapper is what gets sampled.
 */
#define _GNU_SOURCE /* wait4, clock_nanosleep, pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
    fprintf(stderr, "usage: rss_series --out FILE [--interval-ms MS] [--timeout-s S] "
                    "[--maps FILE] [--maps-at-ms MS] -- CMD ARGS...\n");
    exit(2);
}

static long parse_long(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0) {
        fprintf(stderr, "rss_series: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

/* VmRSS in kB, or -1 if unavailable (a zombie's status has no Vm* lines). */
static long read_vmrss_kb(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *p = strstr(buf, "\nVmRSS:");
    return p ? strtol(p + 7, NULL, 10) : -1;
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

static long long ms_of(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

static void timespec_add_ms(struct timespec *t, long ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

int main(int argc, char **argv)
{
    long interval_ms = 50, timeout_s = 0, maps_at_ms = 1000;
    const char *out_path = NULL, *maps_path = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc) {
            interval_ms = parse_long(argv[++i], "interval");
        } else if (!strcmp(argv[i], "--timeout-s") && i + 1 < argc) {
            timeout_s = parse_long(argv[++i], "timeout");
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out_path = argv[++i];
        } else if (!strcmp(argv[i], "--maps") && i + 1 < argc) {
            maps_path = argv[++i];
        } else if (!strcmp(argv[i], "--maps-at-ms") && i + 1 < argc) {
            maps_at_ms = parse_long(argv[++i], "maps time");
        } else {
            usage();
        }
    }
    if (i >= argc || interval_ms <= 0 || !out_path)
        usage();
    char **cmd = &argv[i];

    FILE *out = fopen(out_path, "w");
    if (!out) {
        fprintf(stderr, "rss_series: cannot write %s: %s\n", out_path, strerror(errno));
        return 125;
    }
    fputs("t_ms\trss_kb\n", out);

    /* A close-on-exec pipe reports the exec (EOF) or its failure (errno), so
     * the first sample is of the real command, not of our fork. */
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        perror("rss_series: pipe2");
        return 125;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("rss_series: fork");
        return 125;
    }
    if (pid == 0) {
        close(pfd[0]);
        execvp(cmd[0], cmd);
        int e = errno;
        ssize_t w = write(pfd[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(pfd[1]);
    int child_errno = 0;
    ssize_t got;
    do
        got = read(pfd[0], &child_errno, sizeof child_errno);
    while (got < 0 && errno == EINTR);
    close(pfd[0]);
    if (got == (ssize_t)sizeof child_errno) {
        fprintf(stderr, "rss_series: cannot exec %s: %s\n", cmd[0], strerror(child_errno));
        waitpid(pid, NULL, 0);
        return 127;
    }

    char status_path[64];
    snprintf(status_path, sizeof status_path, "/proc/%d/status", (int)pid);
    struct timespec start, next, wall;
    clock_gettime(CLOCK_MONOTONIC, &start);
    next = start;
    long samples = 0;
    int maps_done = maps_path == NULL;
    int status = 0, killed_by_timeout = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        long kb = read_vmrss_kb(status_path);
        clock_gettime(CLOCK_REALTIME, &wall);
        if (kb >= 0) {
            fprintf(out, "%lld\t%ld\n", ms_of(&wall), kb);
            samples++;
        }
        if (!maps_done && ms_of(&next) - ms_of(&start) >= maps_at_ms) {
            if (copy_maps(pid, maps_path) != 0)
                fprintf(stderr, "rss_series: could not copy /proc/%d/maps to %s\n", (int)pid, maps_path);
            maps_done = 1;
        }
        pid_t r = wait4(pid, &status, WNOHANG, &ru);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            perror("rss_series: wait4");
            return 125;
        }
        /* Absolute deadlines keep the sampling grid from drifting. */
        timespec_add_ms(&next, interval_ms);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        if (timeout_s > 0 && !killed_by_timeout && next.tv_sec - start.tv_sec >= timeout_s) {
            fprintf(stderr, "rss_series: timeout after %lds, killing pid %d\n", timeout_s, (int)pid);
            kill(pid, SIGKILL);
            killed_by_timeout = 1;
        }
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "rss_series: error writing %s\n", out_path);
        return 125;
    }
    long long cpu_ms = ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
                       ((long long)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
    printf("RSS_SERIES samples=%ld maxrss_kb=%ld cpu_ms=%lld\n", samples, ru.ru_maxrss, cpu_ms);
    fflush(stdout);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 125;
}
