/*
 * rss_sampler - run a command and record its resident set size as a time series.
 *
 *   rss_sampler [--interval-ms 50] [--timeout-s 0] -- CMD ARGS...
 *
 * Forks and execs CMD (environment inherited, stdout/stderr shared, so the child's
 * output passes straight through), reads VmRSS from /proc/PID/status right after
 * the exec and then every interval until the child exits, and prints
 *
 *   RSS samples=N mean_kb=M p95_kb=P max_kb=X maxrss_kb=H
 *
 * after the child's own output. p95 is nearest-rank (the ceil(0.95*N)-th smallest
 * sample). maxrss_kb is the kernel's peak RSS (wait4 ru_maxrss) and catches peaks
 * between samples. The exit status of the child is propagated (128+signal if it
 * was killed). With --timeout-s > 0 the child is SIGKILLed after that many seconds.
 *
 * Note: if CMD is a wrapper that forks (e.g. `timeout`), the wrapper is what gets
 * sampled; use exec-style wrappers such as `env VAR=x prog` instead.
 */
#define _GNU_SOURCE /* wait4, clock_nanosleep, pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
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
    fprintf(stderr, "usage: rss_sampler [--interval-ms MS] [--timeout-s S] -- CMD ARGS...\n");
    exit(2);
}

static long parse_long(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0) {
        fprintf(stderr, "rss_sampler: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

/* VmRSS of pid in kB, or -1 if unavailable (e.g. the child is already a zombie,
 * whose status has no Vm* lines). */
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
    if (!p)
        return -1;
    return strtol(p + 7, NULL, 10);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
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
    long interval_ms = 50, timeout_s = 0;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc) {
            interval_ms = parse_long(argv[++i], "interval");
        } else if (!strcmp(argv[i], "--timeout-s") && i + 1 < argc) {
            timeout_s = parse_long(argv[++i], "timeout");
        } else {
            usage();
        }
    }
    if (i >= argc || interval_ms <= 0)
        usage();
    char **cmd = &argv[i];

    /* A close-on-exec pipe tells us when the exec has happened (EOF) or why it
     * failed (the child writes errno), so the t=0 sample is of the real command. */
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        perror("rss_sampler: pipe2");
        return 125;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("rss_sampler: fork");
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
        fprintf(stderr, "rss_sampler: cannot exec %s: %s\n", cmd[0], strerror(child_errno));
        waitpid(pid, NULL, 0);
        return 127;
    }

    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    size_t cap = 1024, n = 0;
    long *samples = malloc(cap * sizeof *samples);
    if (!samples) {
        perror("rss_sampler: malloc");
        return 125;
    }

    struct timespec start, next;
    clock_gettime(CLOCK_MONOTONIC, &start);
    next = start;
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    int killed_by_timeout = 0;
    for (;;) {
        long kb = read_vmrss_kb(path);
        if (kb >= 0) {
            if (n == cap) {
                cap *= 2;
                long *ns = realloc(samples, cap * sizeof *samples);
                if (!ns) {
                    perror("rss_sampler: realloc");
                    kill(pid, SIGKILL);
                    return 125;
                }
                samples = ns;
            }
            samples[n++] = kb;
        }
        pid_t r = wait4(pid, &status, WNOHANG, &ru);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            perror("rss_sampler: wait4");
            return 125;
        }
        /* Absolute deadlines keep the sampling grid from drifting. */
        timespec_add_ms(&next, interval_ms);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        if (timeout_s > 0 && !killed_by_timeout && next.tv_sec - start.tv_sec >= timeout_s) {
            fprintf(stderr, "rss_sampler: timeout after %lds, killing pid %d\n", timeout_s,
                    (int)pid);
            kill(pid, SIGKILL);
            killed_by_timeout = 1;
        }
    }

    long max_kb = 0, p95 = 0;
    double mean = 0;
    if (n > 0) {
        qsort(samples, n, sizeof *samples, cmp_long);
        long double sum = 0;
        for (size_t k = 0; k < n; k++)
            sum += samples[k];
        mean = (double)(sum / (long double)n);
        size_t rank = (95 * n + 99) / 100; /* ceil(0.95 * n), 1-based */
        p95 = samples[rank - 1];
        max_kb = samples[n - 1];
    }
    printf("RSS samples=%zu mean_kb=%.0f p95_kb=%ld max_kb=%ld maxrss_kb=%ld\n", n, mean, p95,
           max_kb, (long)ru.ru_maxrss);
    fflush(stdout);
    free(samples);

    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "rss_sampler: child killed by signal %d (%s)\n", WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        return 128 + WTERMSIG(status);
    }
    return 125;
}
