/*
 * test_util.h: the helpers every C test uses. Tests run with libhz3.so
 * preloaded (run-tests.sh sets LD_PRELOAD) and reach the hz3_* API through
 * dlsym, as any program would; they link nothing of hz3.
 */
#ifndef HZ3_TEST_UTIL_H
#define HZ3_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "hz3.h"

extern int t_passed, t_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) t_passed++;                                                         \
        else { t_failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
    } while (0)
#define CHECK_MSG(cond, ...)                                                          \
    do {                                                                              \
        if (cond) t_passed++;                                                         \
        else { t_failed++; fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
               fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); }                   \
    } while (0)

/* Prints "N passed, N failed" and returns the exit status. */
int t_finish(const char *name);

/* The hz3 API of the preloaded library; exits with a message if hz3 is not
 * the malloc of this process. */
typedef struct {
    int (*stats_get)(struct hz3_stats *);
    size_t (*mappings)(uint64_t *, size_t);
    int (*owns)(const void *);
    const char *(*version)(void);
    int (*snapshot)(struct hz3_snapshot *);
    uint64_t (*epoch_force)(void);
    uint64_t (*purge_now)(void);
    int (*set_listener)(hz3_listener_fn, void *);
    int (*config_set)(const char *, int64_t);
    int64_t (*config_get)(const char *);
    uint64_t (*validate)(void);
} t_hz3_api;
const t_hz3_api *t_hz3(void);
struct hz3_stats t_stats(void);
/* An exact census now (static storage: one at a time). */
struct hz3_snapshot *t_snapshot(struct hz3_snapshot *into);

/* The opening of a test of one thread's caches and spans: only the epochs
 * the test asks for (no timer epoch, whose decay would empty them; no purge
 * for an hour), and a first thread started and joined, so that what glibc
 * keeps of one (its stack, its TLS) is in the census before the test's
 * threads start. Checks that the settings took. */
void t_quiet_threads(void);

/* The index of the snapshot's class of exactly size bytes, or -1. */
int t_class_of(const struct hz3_snapshot *s, size_t size);

/* Class c's pages in every state. */
uint64_t t_class_pages(const struct hz3_snapshot *s, int c);

/* Class c's census in now less base: live objects, spans, empty pages and
 * the purge's candidates among them; and the heap's held empty pages. */
typedef struct {
    long live, spans, empty, cand, held;
} t_class_delta;
t_class_delta t_class_delta_of(const struct hz3_snapshot *base, const struct hz3_snapshot *now, int c);

/* The snapshot's classes of objects up to max bytes (small, sub4k and
 * medium), smallest first: their indexes into cls (when not NULL) and
 * their sizes into size (HZ3_CENSUS_CLASSES entries each at most).
 * Returns how many. */
unsigned t_classes_upto(const struct hz3_snapshot *s, size_t max, unsigned *cls, size_t *size);

/* Whether free(p) in a child process (fork; its stderr silenced) dies of
 * SIGABRT: hz3's report of a double or wrong free. */
bool t_free_aborts(void *p);
/* The same, with the free made by a second thread of the child: a free
 * from a thread that does not own p's span (the remote free paths). */
bool t_remote_free_aborts(void *p);

/* Pages of [p, p + n) resident (n up to 128 MiB); -1 when mincore refuses
 * the range (not mapped). */
long t_resident_pages(void *p, size_t n);

/* Forces epochs, 20 ms apart, until hz3 caches no large extent or 10 s have
 * passed since *since (CLOCK_MONOTONIC); the caller checks the stats. */
void t_epochs_until_large_cache_empty(const struct timespec *since);

/* Resident bytes (smaps Rss) of the mappings hz3 reports. */
size_t t_hz3_rss(void);

/* Runs argv with extra environment entries (NULL-terminated, may be NULL);
 * captures stderr into err (NUL-terminated) and returns the wait status. */
int t_run(char *const argv[], char *const extra_env[], char *err, size_t err_size);

/* Traps the calling thread's madvise(MADV_DONTNEED) calls (a seccomp
 * filter, on it and on the threads it creates later, for the rest of the
 * process: call it in a child of fork): each trapped call runs at_call
 * (in a SIGSYS handler: async-signal-safe calls only), then is made as it
 * was asked and returns its result. Returns 0, or -1 with errno. */
int t_trap_madvise(void (*at_call)(void));

/* A fast deterministic generator (splitmix64). */
static inline uint64_t t_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif
