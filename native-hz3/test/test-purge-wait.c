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
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "test_util.h"

enum { DELAY = 50, RUN = 64 << 10, RUNS = 150 };
/* In the fourth argument of the handler's own madvise: the filter lets it through. */
#define MAGIC 0x68337a33u

static void *runs[RUNS];
static sem_t go;
static volatile pid_t taker_tid;
static volatile int entered, returned, armed;
static void *volatile taken;
/* What the handler saw: 1 blocked in malloc, 2 malloc returned first, 3 neither within 2 s. */
static volatile sig_atomic_t seen;

/* Mallocs one run when told to. */
static void *taker(void *arg)
{
    taker_tid = (pid_t)syscall(SYS_gettid);
    while (sem_wait(&go) != 0) continue;
    entered = 1;
    void *p = malloc(RUN);
    __atomic_store_n(&returned, 1, __ATOMIC_RELEASE);
    taken = p;
    return arg;
}

/* Whether thread tid sits in a futex call (pthread_cond_wait), from
 * /proc/self/task/tid/syscall, whose first field is the call's number. */
static bool in_futex(pid_t tid)
{
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    return atoi(buf) == SYS_futex;
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    greg_t *r = ((ucontext_t *)ctx)->uc_mcontext.gregs;
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
            if (entered && in_futex(taker_tid)) {
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
    r[REG_RAX] = syscall(SYS_madvise, (void *)r[REG_RDI], (size_t)r[REG_RSI], (int)r[REG_RDX], MAGIC);
}

/* Traps this thread's madvise(MADV_DONTNEED) but the handler's own. */
static int trap_madvise(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_DONTNEED, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MAGIC, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    };
    struct sock_fprog prog = { sizeof code / sizeof code[0], code };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSYS, &sa, NULL) != 0) return -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
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
    sem_init(&go, 0, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, taker, NULL) == 0);

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
    CHECK(trap_madvise() == 0);
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
