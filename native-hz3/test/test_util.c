#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include "test_util.h"

int t_passed, t_failed;

int t_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, t_passed, t_failed);
    return t_failed ? 1 : 0;
}

const t_hz3_api *t_hz3(void)
{
    static t_hz3_api api;
    if (!api.version) {
        api.stats_get = (int (*)(struct hz3_stats *))dlsym(RTLD_DEFAULT, "hz3_stats_get");
        api.mappings = (size_t(*)(uint64_t *, size_t))dlsym(RTLD_DEFAULT, "hz3_mappings");
        api.owns = (int (*)(const void *))dlsym(RTLD_DEFAULT, "hz3_owns");
        api.version = (const char *(*)(void))dlsym(RTLD_DEFAULT, "hz3_version");
        api.snapshot = (int (*)(struct hz3_snapshot *))dlsym(RTLD_DEFAULT, "hz3_obs_snapshot");
        api.epoch_force = (uint64_t(*)(void))dlsym(RTLD_DEFAULT, "hz3_epoch_force");
        api.purge_now = (uint64_t(*)(void))dlsym(RTLD_DEFAULT, "hz3_purge_now");
        api.set_listener = (int (*)(hz3_listener_fn, void *))dlsym(RTLD_DEFAULT, "hz3_obs_set_listener");
        api.config_set = (int (*)(const char *, int64_t))dlsym(RTLD_DEFAULT, "hz3_config_set");
        api.config_get = (int64_t(*)(const char *))dlsym(RTLD_DEFAULT, "hz3_config_get");
        api.validate = (uint64_t(*)(void))dlsym(RTLD_DEFAULT, "hz3_debug_validate");
        if (!api.version || !api.stats_get || !api.mappings || !api.owns || !api.snapshot || !api.epoch_force ||
            !api.purge_now || !api.set_listener || !api.config_set || !api.config_get || !api.validate) {
            fprintf(stderr, "hz3 is not this process's malloc (run with LD_PRELOAD=libhz3.so)\n");
            exit(2);
        }
    }
    return &api;
}

struct hz3_stats t_stats(void)
{
    struct hz3_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    t_hz3()->stats_get(&st);
    return st;
}

struct hz3_snapshot *t_snapshot(struct hz3_snapshot *into)
{
    memset(into, 0, sizeof *into);
    into->size = sizeof *into;
    if (t_hz3()->snapshot(into) != 0) {
        fprintf(stderr, "hz3_obs_snapshot failed\n");
        exit(2);
    }
    return into;
}

static void *t_idle(void *arg) { return arg; }

void t_quiet_threads(void)
{
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, t_idle, NULL) == 0);
    pthread_join(t, NULL);
}

size_t t_hz3_rss(void)
{
    static uint64_t ranges[2 * 4096];
    size_t n = t_hz3()->mappings(ranges, 4096);
    if (n > 4096) n = 4096;
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return 0;
    char line[512];
    uint64_t lo = 0, hi = 0;
    bool ours = false;
    size_t total = 0;
    while (fgets(line, sizeof line, f)) {
        uint64_t a, b;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            lo = a;
            hi = b;
            ours = false;
            for (size_t i = 0; i < n; i++)
                if (lo < ranges[2 * i + 1] && hi > ranges[2 * i]) ours = true;
            continue;
        }
        size_t kb;
        if (ours && sscanf(line, "Rss: %zu kB", &kb) == 1) total += kb * 1024;
    }
    fclose(f);
    return total;
}

int t_run(char *const argv[], char *const extra_env[], char *err, size_t err_size)
{
    int pipefd[2];
    if (pipe(pipefd) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        for (char *const *e = extra_env; e && *e; e++) putenv(*e);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pipefd[1]);
    size_t got = 0;
    ssize_t r;
    while ((r = read(pipefd[0], err + got, err_size - 1 - got)) > 0) got += (size_t)r;
    err[got] = 0;
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

int t_class_of(const struct hz3_snapshot *s, size_t size)
{
    for (unsigned c = 0; c < s->num_classes; c++)
        if (s->classes[c].object_size == size) return (int)c;
    return -1;
}

uint64_t t_class_pages(const struct hz3_snapshot *s, int c)
{
    uint64_t n = 0;
    for (int st = 0; st < HZ3_PS_COUNT; st++) n += s->classes[c].pages[st];
    return n;
}

t_class_delta t_class_delta_of(const struct hz3_snapshot *base, const struct hz3_snapshot *now, int c)
{
    const struct hz3_class_census *a = &now->classes[c], *b = &base->classes[c];
    t_class_delta d = {
        .live = (long)(a->live_objects - b->live_objects),
        .spans = (long)(a->spans - b->spans),
        .empty = (long)(a->pages[HZ3_PS_EMPTY] - b->pages[HZ3_PS_EMPTY]),
        .cand = (long)(a->cand_decommit_pages - b->cand_decommit_pages),
        .held = (long)(now->held_empty_pages - base->held_empty_pages),
    };
    return d;
}

unsigned t_classes_upto(const struct hz3_snapshot *s, size_t max, unsigned *cls, size_t *size)
{
    unsigned n = 0;
    for (unsigned c = 0; c < s->num_classes && n < HZ3_CENSUS_CLASSES; c++) {
        size_t bytes = s->classes[c].object_size;
        if (bytes == 0 || bytes > max || s->classes[c].tier > HZ3_TIER_MEDIUM) continue;
        if (cls) cls[n] = c;
        size[n++] = bytes;
    }
    return n;
}

bool t_free_aborts(void *p)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        free(p);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void *free_arg(void *p)
{
    free(p);
    return NULL;
}

bool t_remote_free_aborts(void *p)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        pthread_t t;
        if (pthread_create(&t, NULL, free_arg, p) == 0) pthread_join(t, NULL);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

long t_resident_pages(void *p, size_t n)
{
    static unsigned char vec[(128u << 20) / 4096];
    uintptr_t start = (uintptr_t)p & ~(uintptr_t)4095;
    size_t pages = ((uintptr_t)p + n - start + 4095) / 4096;
    if (pages > sizeof vec || mincore((void *)start, pages * 4096, vec) != 0) return -1;
    long r = 0;
    for (size_t i = 0; i < pages; i++) r += vec[i] & 1;
    return r;
}

void t_epochs_until_large_cache_empty(const struct timespec *since)
{
    struct timespec now, nap = { 0, 20 * 1000 * 1000 };
    do {
        t_hz3()->epoch_force();
        if (t_stats().large_cached == 0) return;
        nanosleep(&nap, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - since->tv_sec < 10);
}

/* In the fourth argument of the handler's own madvise: the filter lets it through. */
#define T_MADVISE_PASS 0x68337a33u
static void (*madvise_at_call)(void);

static void on_madvise_trap(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)si;
    greg_t *r = ((ucontext_t *)ctx)->uc_mcontext.gregs;
    madvise_at_call();
    r[REG_RAX] = syscall(SYS_madvise, (void *)r[REG_RDI], (size_t)r[REG_RSI], (int)r[REG_RDX], T_MADVISE_PASS);
}

int t_trap_madvise(void (*at_call)(void))
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
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_MADVISE_PASS, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    };
    struct sock_fprog prog = { sizeof code / sizeof code[0], code };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    madvise_at_call = at_call;
    sa.sa_sigaction = on_madvise_trap;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSYS, &sa, NULL) != 0) return -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}
