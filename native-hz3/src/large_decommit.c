/*
 * large_decommit.c: gives a free large extent's memory back to the kernel
 * by zapping only its resident pages.
 *
 * A freed extent of malloc_large's shape (5-25 MiB, its first and last
 * bytes written) holds a few resident pages scattered over megabytes of
 * address space. One MADV_DONTNEED over all of it had the kernel walk the
 * whole range, free the page tables it left empty (6.18 does that for
 * ranges of 2 MiB and more) and flush the whole TLB; the objects carved
 * there next paid to build the tables again. Measured on malloc_large: 633
 * such calls in 10,000 replacements cost about 0.15 s of user time (faults
 * and TLB refills) on top of their system time. So mincore says which
 * pages are resident, and only runs of those are zapped, all of an
 * extent's runs in one process_madvise call on ourselves (PIDFD_SELF,
 * Linux 6.15 and later): on this machine a madvise call of one page cost
 * 64 us, a run in a batch 16 us.
 *
 * A page mincore reports absent reads as zero unless it is in swap: with
 * swap configured, or without process_madvise on ourselves, the whole
 * extent is zapped in one call as before.
 *
 * process_madvise is newer than most seccomp policies: a filter that kills
 * on calls it does not know (a sandbox's allow-list) would kill the process
 * at its first large decommit, where plain madvise is allowed. So a thread
 * under a seccomp filter (PR_GET_SECCOMP: 2) zaps with madvise. A filter is
 * per thread and may be installed at any time, so the check is made on
 * every decommit (one cheap call beside mincore's), until one thread is
 * seen filtered: after that none uses the batch call (filters are never
 * lifted, and it spares the others the check).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <unistd.h>
#include "large.h"

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#define PIDFD_SELF_PROCESS (-10001)   /* PIDFD_SELF_THREAD_GROUP */
#define RUNS 64
/* Absent pages between two resident runs closer than this are zapped with
 * them: one run instead of two costs less than the pages it covers. */
#define GAP_PAGES 4

/* How the extents given back were used: up by one for an extent at least
 * half resident, down by one for a sparser one, within +-8 (large.h). */
static int dense_score;

bool _hz3_large_dense(void)
{
    return __atomic_load_n(&dense_score, __ATOMIC_RELAXED) > 0;
}

static void note_density(size_t resident_pages, size_t pages)
{
    int d = __atomic_load_n(&dense_score, __ATOMIC_RELAXED) + (resident_pages * 2 >= pages ? 1 : -1);
    __atomic_store_n(&dense_score, d > 8 ? 8 : d < -8 ? -8 : d, __ATOMIC_RELAXED);
}

static int batch_broken;   /* process_madvise refused ourselves (an older kernel), or a thread is under seccomp */

/* False unless every run was zapped: the kernel may stop part way and say
 * how many bytes it advised (the caller then zaps the whole extent). */
static bool zap_runs(struct iovec *iov, size_t n)
{
    if (n == 0) return true;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += iov[i].iov_len;
    long done = syscall(SYS_process_madvise, PIDFD_SELF_PROCESS, iov, n, MADV_DONTNEED, 0);
    if (done < 0) __atomic_store_n(&batch_broken, 1, __ATOMIC_RELAXED);
    return done >= 0 && (size_t)done == bytes;
}

/* A strict-mode thread could not be here: it may not even call mmap. */
static bool seccomp_filtered(void)
{
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) <= 0) return false;
    __atomic_store_n(&batch_broken, 1, __ATOMIC_RELAXED);
    return true;
}

static bool swap_configured(void)
{
    struct sysinfo si;
    return sysinfo(&si) != 0 || si.totalswap != 0;
}

/* Notes how dense the extent is and, with zap, zaps its resident pages:
 * false when that could not be done page by page. */
static bool decommit_resident(uint8_t *map, size_t size, bool zap)
{
    unsigned char vec[4096];
    struct iovec iov[RUNS];
    size_t n = 0, resident = 0;
    for (size_t off = 0; off + HZ3_PAGE_SIZE <= size;) {   /* extents are whole pages */
        size_t pages = (size - off) >> HZ3_PAGE_SHIFT;
        if (pages > sizeof vec) pages = sizeof vec;
        if (!_hz3_os_resident(map + off, pages, vec)) return false;
        for (size_t i = 0; i < pages; i++) resident += vec[i] & 1;
        for (size_t i = 0; zap && i < pages;) {
            if (!(vec[i] & 1)) {
                i++;
                continue;
            }
            size_t j = i + 1;
            while (j < pages && ((vec[j] & 1) || (j + GAP_PAGES < pages && (vec[j + GAP_PAGES] & 1)))) j++;
            if (n == RUNS) {
                if (!zap_runs(iov, n)) return false;
                n = 0;
            }
            iov[n++] = (struct iovec){ map + off + (i << HZ3_PAGE_SHIFT), (j - i) << HZ3_PAGE_SHIFT };
            i = j;
        }
        off += pages << HZ3_PAGE_SHIFT;
    }
    note_density(resident, size >> HZ3_PAGE_SHIFT);
    return !zap || zap_runs(iov, n);
}

void _hz3_large_decommit(uint8_t *map, size_t size)
{
    /* A failure part way leaves some runs zapped: zapping them again below
     * is harmless. */
    bool batch = !__atomic_load_n(&batch_broken, __ATOMIC_RELAXED) && !seccomp_filtered() && !swap_configured();
    if (batch && decommit_resident(map, size, true)) return;
    if (!batch) decommit_resident(map, size, false);   /* the density, which the cache's bound reads */
    _hz3_os_decommit(map, size);
}

static int move_broken;   /* mremap refused a move (a kernel before 5.7, or out of mappings) */

bool _hz3_large_move(uint8_t *from, uint8_t *to, size_t size)
{
    if (__atomic_load_n(&move_broken, __ATOMIC_RELAXED)) return false;
    void *r = mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);
    if (r == to) return true;
    __atomic_store_n(&move_broken, 1, __ATOMIC_RELAXED);
    /* The kernel may have unmapped the target before it failed: map it
     * again (empty, as a spare range is), or the next object placed there
     * would fault on unmapped address space. */
    if (mmap(to, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != to) abort();
    return false;
}
