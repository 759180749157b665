/*
 * waits.c - a preloaded shim (bench/waits.sh builds and runs it) that tells where an
 * allocator library waits: its sched_yield calls, and per call site of pthread_mutex_lock its
 * acquisitions, the contended ones with the time spent asleep, and its hold times (total and
 * longest). Only calls made from the library named by WAITS_LIB (a substring of its path,
 * default "hz3") are counted; everything else passes through.
 *
 * Why a shim and not a counter in the allocator: the fast paths get no observation code
 * (bench/RESULTS.md, issue 13), and a lock that never waits should cost the same measured as
 * not. The shim adds a dladdr and two clock reads to each of the library's mutex locks, none
 * to its spin locks, whose waits show up here only as sched_yield calls (each spins first).
 *
 * A mutex that a condition wait releases and takes again inside libc shows that wait as
 * part of a hold (hz3's maintenance thread's timed wait does): read those sites' holds so.
 *
 * Output, at exit, on stderr: "WAITS yield lib=N other=N" and one "WAITS site 0xOFF ..." line
 * per call site, OFF being the return address's offset in the library (waits.sh resolves it).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SITES 128
#define HELD 8

struct site {
    unsigned long off, locks, waits, wait_ns, hold_ns, hold_max;
};
static struct site sites[SITES];
static pthread_spinlock_t sites_lock;
static unsigned long yields_lib, yields_other;
static const char *lib_name = "hz3";
static int (*real_lock)(pthread_mutex_t *);
static int (*real_trylock)(pthread_mutex_t *);
static int (*real_unlock)(pthread_mutex_t *);

/* The library's mutexes this thread holds, to time each hold at its unlock. */
static __thread struct { pthread_mutex_t *m; unsigned long t0; struct site *s; } held[HELD];
static __thread int nheld;

__attribute__((constructor)) static void init(void)
{
    pthread_spin_init(&sites_lock, PTHREAD_PROCESS_PRIVATE);
    const char *e = getenv("WAITS_LIB");
    if (e && *e) lib_name = e;
    real_lock = dlsym(RTLD_NEXT, "pthread_mutex_lock");
    real_trylock = dlsym(RTLD_NEXT, "pthread_mutex_trylock");
    real_unlock = dlsym(RTLD_NEXT, "pthread_mutex_unlock");
}

static unsigned long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long)t.tv_sec * 1000000000ul + (unsigned long)t.tv_nsec;
}

/* The offset of ra in the watched library, or 0 when ra is elsewhere. */
static unsigned long lib_offset(void *ra)
{
    Dl_info di;
    if (!dladdr(ra, &di) || !di.dli_fname || !strstr(di.dli_fname, lib_name)) return 0;
    return (unsigned long)ra - (unsigned long)di.dli_fbase;
}

static struct site *site_of(unsigned long off)
{
    pthread_spin_lock(&sites_lock);
    struct site *s = NULL;
    for (int i = 0; i < SITES && !s; i++)
        if (sites[i].off == off || sites[i].off == 0) {
            sites[i].off = off;
            s = &sites[i];
        }
    pthread_spin_unlock(&sites_lock);
    return s;
}

int sched_yield(void)
{
    if (lib_offset(__builtin_return_address(0))) __atomic_fetch_add(&yields_lib, 1, __ATOMIC_RELAXED);
    else __atomic_fetch_add(&yields_other, 1, __ATOMIC_RELAXED);
    return (int)syscall(SYS_sched_yield);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (!real_lock) init();   /* a lock taken by another constructor before ours ran */
    unsigned long off = lib_offset(__builtin_return_address(0));
    struct site *s = off ? site_of(off) : NULL;
    if (!s) return real_lock(m);
    unsigned long t0 = now_ns();
    int r = 0;
    if (real_trylock(m) != 0) {
        r = real_lock(m);
        unsigned long t1 = now_ns();
        __atomic_fetch_add(&s->waits, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->wait_ns, t1 - t0, __ATOMIC_RELAXED);
        t0 = t1;
    }
    __atomic_fetch_add(&s->locks, 1, __ATOMIC_RELAXED);
    if (nheld < HELD) held[nheld++] = (typeof(held[0])){m, t0, s};
    return r;
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (!real_unlock) init();
    for (int i = nheld - 1; i >= 0; i--) {
        if (held[i].m != m) continue;
        unsigned long d = now_ns() - held[i].t0;
        struct site *s = held[i].s;
        __atomic_fetch_add(&s->hold_ns, d, __ATOMIC_RELAXED);
        unsigned long mx = __atomic_load_n(&s->hold_max, __ATOMIC_RELAXED);
        while (d > mx && !__atomic_compare_exchange_n(&s->hold_max, &mx, d, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        }
        held[i] = held[--nheld];
        break;
    }
    return real_unlock(m);
}

__attribute__((destructor)) static void report(void)
{
    char b[256];
    int k = snprintf(b, sizeof b, "WAITS yield lib=%lu other=%lu\n", yields_lib, yields_other);
    if (write(2, b, (size_t)k) < 0) return;
    for (int i = 0; i < SITES && sites[i].off; i++) {
        struct site *s = &sites[i];
        k = snprintf(b, sizeof b, "WAITS site 0x%lx locks=%lu waits=%lu wait_ms=%.1f hold_ms=%.1f hold_max_ms=%.2f\n",
                     s->off, s->locks, s->waits, s->wait_ns / 1e6, s->hold_ns / 1e6, s->hold_max / 1e6);
        if (write(2, b, (size_t)k) < 0) return;
    }
}
