/*
 * test-purge-wait.c: a take that finds no pages while a purge holds
 * segments out of the index waits for the purge, and then takes the pages
 * the purge gave back instead of a new segment.
 *
 * A purge drops the pool lock for its madvise calls and keeps the segments
 * it decommits out of the index meanwhile (segment.c). A take that found
 * nothing then would claim a fresh segment and leave the purged one beside
 * it, a segment more for as long as both live; so it waits on the pool's
 * condition until the purge links the segments again (pool.c).
 *
 * In a child (its seccomp filter goes with it): runs of 64 KiB fill
 * segments, a third of them and the last one freed, so that every run
 * segment has free pages due for the purge and none has room for a run
 * that the purge does not hold. The filter traps the purging thread's
 * madvise calls; at the first one the handler has a second thread malloc a
 * run and waits until that thread is blocked in the kernel (futex) inside
 * malloc, then lets the purge go on. The run it gets must be one of the
 * freed ones, with no new segment. A take that did not wait comes back from
 * malloc before the handler sees it block, with a fresh segment.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "test_util.h"

enum { DELAY = 50, RUN = 64 << 10, RUNS = 150 };

static void *runs[RUNS];
static sem_t ready, go;
static char taker_syscall[64];   /* /proc/self/task/TID/syscall of the taker */
static volatile int entered, returned, armed;
static void *volatile taken;
/* What the handler saw: 1 blocked in malloc, 2 malloc returned first, 3 neither within 2 s. */
static volatile sig_atomic_t seen;

/* Mallocs one run when told to. */
static void *taker(void *arg)
{
    snprintf(taker_syscall, sizeof taker_syscall, "/proc/self/task/%d/syscall", (int)syscall(SYS_gettid));
    sem_post(&ready);
    while (sem_wait(&go) != 0) continue;
    entered = 1;
    void *p = malloc(RUN);
    __atomic_store_n(&returned, 1, __ATOMIC_RELEASE);
    taken = p;
    return arg;
}

/* Whether the taker sits in a futex call (pthread_cond_wait), from its
 * /proc/.../syscall, whose first field is the call's number. */
static bool taker_in_futex(void)
{
    char buf[64];
    int fd = open(taker_syscall, O_RDONLY);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false;
    long nr = 0;   /* by hand: atoi is not async-signal-safe */
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) nr = nr * 10 + (buf[i] - '0');
    return nr == SYS_futex;
}

static void at_madvise(void)
{
    if (armed) {
        armed = 0;
        sem_post(&go);
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            if (__atomic_load_n(&returned, __ATOMIC_ACQUIRE)) {
                seen = 2;
                break;
            }
            if (entered && taker_in_futex()) {
                seen = 1;
                break;
            }
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - start.tv_sec > 2) {   /* a bound for the failure only */
                seen = 3;
                break;
            }
            sched_yield();
        }
    }
}

static void pause_ms(unsigned ms)
{
    struct timespec ts = { 0, (long)ms * 1000000L };
    while (nanosleep(&ts, &ts) != 0) continue;
}

/* The child's whole run. */
static void purge_with_a_waiting_take(void)
{
    const t_hz3_api *hz = t_hz3();
    CHECK(hz->config_set("epoch_interval_ms", 0) == 0);   /* only the epochs of this test */
    CHECK(hz->config_set("purge_delay_ms", DELAY) == 0);
    sem_init(&ready, 0, 0);
    sem_init(&go, 0, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, taker, NULL) == 0);
    while (sem_wait(&ready) != 0) continue;

    for (unsigned i = 0; i < RUNS; i++) {
        runs[i] = malloc(RUN);
        for (size_t off = 0; off < RUN; off += 4096) ((volatile char *)runs[i])[off] = 1;
    }
    bool freed[RUNS] = { false };
    for (unsigned i = 0; i < RUNS; i += 3) freed[i] = true;
    freed[RUNS - 1] = true;   /* the last segment's tail is free: it gets a hole too */
    for (unsigned i = 0; i < RUNS; i++)
        if (freed[i]) free(runs[i]);
    hz->epoch_force();   /* a point of the pool's demand, for the working set */
    pause_ms(2 * DELAY + 20);   /* the holes' age: purged as older than the delay */

    uint64_t segs = t_stats().segments_active;
    CHECK(t_trap_madvise(at_madvise) == 0);
    armed = 1;
    hz->epoch_force();
    armed = 0;
    pthread_join(t, NULL);
    CHECK_MSG(seen == 1, "the take %s", seen == 2 ? "returned before the purge's madvise call ended: it did not wait"
                                       : seen == 3 ? "neither blocked nor returned within 2 s"
                                                   : "was never started: the purge made no madvise call");
    bool a_hole = false;
    for (unsigned i = 0; i < RUNS; i++)
        if (freed[i] && runs[i] == taken) a_hole = true;
    CHECK_MSG(taken && a_hole, "the take got %p, not one of the runs the purge gave back", taken);
    CHECK_MSG(t_stats().segments_active == segs, "segments %llu -> %llu", (unsigned long long)segs,
              (unsigned long long)t_stats().segments_active);
    CHECK(hz->validate() == 0);
    free(taken);
    for (unsigned i = 0; i < RUNS; i++)
        if (!freed[i]) free(runs[i]);
}

int main(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        purge_with_a_waiting_take();
        int rc = t_finish("test-purge-wait (child)");
        fflush(stdout);
        _exit(rc);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child %s %d", WIFSIGNALED(st) ? "was killed by signal" : "exited with",
              WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return t_finish("test-purge-wait");
}
