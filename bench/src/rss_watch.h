/*
 * rss_watch.h - start a command and read its resident set size on a fixed grid until it exits:
 * the part that rss_sampler (a summary, bench/run.sh) and rss_series (a time series,
 * bench/jvm/run.sh) share. Header-only: each program is one .c file.
 *
 * The command runs with the environment inherited and stdout/stderr shared. Wrap it with
 * exec-style tools (`env VAR=x prog`), not forking ones, or the wrapper is what gets read.
 */
#ifndef RSS_WATCH_H
#define RSS_WATCH_H

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

struct rss_watch {
    const char *name;   /* the program's name, for its messages */
    long interval_ms;   /* > 0 */
    long timeout_s;     /* the command is SIGKILLed after this long; 0: never */
    /* Called at every grid point with the command's VmRSS (kB, never negative: a reading that
     * fails, as a zombie's does, is skipped), the wall clock (CLOCK_REALTIME, ms since the
     * epoch: Java's currentTimeMillis) and the time since the exec (ms). Returns 0, or nonzero
     * to stop: the command is then killed. */
    int (*sample)(void *ctx, pid_t pid, long rss_kb, long long wall_ms, long long since_ms);
    void *ctx;
    struct rusage usage; /* out: the command's, from wait4 (peak RSS, CPU) */
};

/* A whole number >= 0 from an option's value; a bad one ends the program (exit 2). */
static long rss_watch_parse(const char *name, const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0) {
        fprintf(stderr, "%s: bad %s '%s'\n", name, what, s);
        exit(2);
    }
    return v;
}

/* VmRSS in kB, or -1 if unavailable (a zombie's status has no Vm* lines). */
static long rss_watch_vmrss_kb(const char *path)
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

static long long rss_watch_ms(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

static void rss_watch_add_ms(struct timespec *t, long ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* Runs cmd and calls w->sample until it exits. Returns its exit status (128+signal if it was
 * killed), 127 if it could not be started, 125 on our own errors (said on stderr). */
static int rss_watch_run(struct rss_watch *w, char **cmd)
{
    /* A close-on-exec pipe reports the exec (EOF) or its failure (errno), so the first
     * reading is of the real command, not of our fork. */
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        fprintf(stderr, "%s: pipe2: %s\n", w->name, strerror(errno));
        return 125;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", w->name, strerror(errno));
        return 125;
    }
    if (pid == 0) {
        close(pfd[0]);
        execvp(cmd[0], cmd);
        int e = errno;
        ssize_t wr = write(pfd[1], &e, sizeof e);
        (void)wr;
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
        fprintf(stderr, "%s: cannot exec %s: %s\n", w->name, cmd[0], strerror(child_errno));
        waitpid(pid, NULL, 0);
        return 127;
    }

    char status_path[64];
    snprintf(status_path, sizeof status_path, "/proc/%d/status", (int)pid);
    struct timespec start, next, wall;
    clock_gettime(CLOCK_MONOTONIC, &start);
    next = start;
    int status = 0, killed = 0;
    memset(&w->usage, 0, sizeof w->usage);
    for (;;) {
        long kb = rss_watch_vmrss_kb(status_path);
        clock_gettime(CLOCK_REALTIME, &wall);
        if (kb >= 0 && !killed &&
            w->sample(w->ctx, pid, kb, rss_watch_ms(&wall), rss_watch_ms(&next) - rss_watch_ms(&start))) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        pid_t r = wait4(pid, &status, WNOHANG, &w->usage);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "%s: wait4: %s\n", w->name, strerror(errno));
            return 125;
        }
        /* Absolute deadlines keep the grid from drifting. */
        rss_watch_add_ms(&next, w->interval_ms);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        if (w->timeout_s > 0 && !killed && next.tv_sec - start.tv_sec >= w->timeout_s) {
            fprintf(stderr, "%s: timeout after %lds, killing pid %d\n", w->name, w->timeout_s, (int)pid);
            kill(pid, SIGKILL);
            killed = 1;
        }
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "%s: the command was killed by signal %d (%s)\n", w->name, WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        return 128 + WTERMSIG(status);
    }
    return 125;
}

#endif /* RSS_WATCH_H */
