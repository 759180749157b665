/*
 * test-carve-populate.c: carving blocks of a page or less faults their
 * fresh pages in with one call, not one trap a page.
 *
 * Carving writes a link into every block, so every page of blocks of a
 * page or less is written as the span is carved: a fault each when the
 * pages are fresh (a server's warm-up, larson's: a fifth of its time).
 * MADV_POPULATE_WRITE faults them all in inside one call. perf's count
 * of page faults counts the traps alone (getrusage's counts both), so a
 * thread making 4 MiB of 1 KiB objects from fresh spans must trap on few
 * of their 1,024 pages. Skipped where the kernel lacks the call (before
 * Linux 5.14: hz3 leaves the faults to the writes) or perf counters are
 * not allowed (perf_event_paranoid).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "test_util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum { SIZE = 1024, N = 4096 };
static void *objs[N];

/* A counter of this thread's minor page faults taken by trap; -1 when perf is not allowed. */
static int fault_counter(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_PAGE_FAULTS_MIN;
    return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static long count(int fd)
{
    long long n = 0;
    return read(fd, &n, sizeof n) == (ssize_t)sizeof n ? (long)n : -1;
}

static bool kernel_populates(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    bool ok = madvise(p, 4096, MADV_POPULATE_WRITE) == 0;
    munmap(p, 4096);
    return ok;
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    CHECK(hz->config_set("epoch_interval_ms", 0) == 0);
    if (!kernel_populates()) {
        printf("test-carve-populate: the kernel has no MADV_POPULATE_WRITE (errno %d): skipped\n", errno);
        return t_finish("test-carve-populate");
    }
    int fd = fault_counter();
    if (fd < 0) {
        printf("test-carve-populate: no perf counter for page faults (errno %d): skipped\n", errno);
        return t_finish("test-carve-populate");
    }
    long pages = (long)N * SIZE / 4096;
    long before = count(fd);
    for (int i = 0; i < N; i++) objs[i] = malloc(SIZE);
    long traps = count(fd) - before;
    close(fd);
    printf("test-carve-populate: %d objects of %d B on %ld pages, %ld page faults trapped\n", N, SIZE, pages, traps);
    CHECK_MSG(traps * 10 < pages, "%ld traps for %ld fresh pages: carving faulted them in one by one", traps, pages);
    int missing = 0;
    for (int i = 0; i < N; i++) missing += objs[i] == NULL;
    CHECK(missing == 0);
    for (int i = 0; i < N; i++) free(objs[i]);
    return t_finish("test-carve-populate");
}
