/*
 * os.c: every call hz3 makes to the kernel for memory goes through here.
 *
 * Contract: mappings are private, anonymous, read-write and MAP_NORESERVE,
 * so reserving address space costs no memory until a page is written.
 * Decommit is MADV_DONTNEED: the range stays mapped and reads back as zero.
 * Nothing here allocates or calls anything that could call malloc, and a
 * refusal by the kernel returns NULL (errno as the kernel set it); the
 * callers turn that into ENOMEM for the application.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "hz3_internal.h"

void *_hz3_os_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *_hz3_os_map_aligned(size_t size, size_t align)
{
    /* Over-map by the alignment, then give back the ends. */
    size_t over = size + align;
    uint8_t *p = _hz3_os_map(over);
    if (!p) return NULL;
    uint8_t *a = (uint8_t *)_hz3_align_up((uintptr_t)p, align);
    if (a > p) munmap(p, (size_t)(a - p));
    size_t tail = (size_t)((p + over) - (a + size));
    if (tail) munmap(a + size, tail);
    return a;
}

void _hz3_os_unmap(void *p, size_t size)
{
    munmap(p, size);
}

void _hz3_os_decommit(void *p, size_t size)
{
    madvise(p, size, MADV_DONTNEED);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23   /* Linux 5.14 */
#endif
/* Off for good once the kernel refuses it (older than 5.14: EINVAL; a
 * sandbox's filter: EPERM): the caller's own writes fault the pages in. */
static _Atomic bool populate_refused;

void _hz3_os_populate(void *p, size_t size)
{
    if (atomic_load_explicit(&populate_refused, memory_order_relaxed)) return;
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(HZ3_PAGE_SIZE - 1);
    uintptr_t e = ((uintptr_t)p + size + HZ3_PAGE_SIZE - 1) & ~(uintptr_t)(HZ3_PAGE_SIZE - 1);
    int saved = errno;
    if (madvise((void *)a, e - a, MADV_POPULATE_WRITE) != 0 && (errno == EINVAL || errno == EPERM || errno == ENOSYS))
        atomic_store_explicit(&populate_refused, true, memory_order_relaxed);
    errno = saved;
}

void *_hz3_os_remap(void *p, size_t old_size, size_t new_size)
{
    void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}

size_t _hz3_os_rss_of(uintptr_t start, uintptr_t end)
{
    /* 16 MiB a call: a census reads every live large extent (1-64 MiB each,
     * hundreds of them in a JVM), and 1 MiB a call made malloc_large's
     * epochs spend 430 mincore calls in 2,000 replacements. */
    unsigned char vec[4096];
    size_t resident = 0;
    for (uintptr_t a = start; a < end;) {
        size_t pages = (end - a) >> HZ3_PAGE_SHIFT;
        if (pages > sizeof vec) pages = sizeof vec;
        if (mincore((void *)a, pages << HZ3_PAGE_SHIFT, vec) != 0) return resident;
        for (size_t i = 0; i < pages; i++) resident += (vec[i] & 1) ? HZ3_PAGE_SIZE : 0;
        a += pages << HZ3_PAGE_SHIFT;
    }
    return resident;
}

bool _hz3_os_resident(void *p, size_t pages, unsigned char *vec)
{
    return mincore(p, pages << HZ3_PAGE_SHIFT, vec) == 0;
}

/* /proc/self/pagemap has one 64-bit word per page; bit 63: present, bit
 * 56: mapped by this process alone. An unprivileged reader gets the page
 * frame number as 0, but these bits as they are. The kernel's zero page is
 * present and not exclusive; smaps Rss does not count it. Opened per call:
 * a descriptor kept across fork would read the parent's page table. */
bool _hz3_os_page_private(void *p, size_t pages, bool *out)
{
    uint64_t words[8];
    if (pages > 8) return false;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    off_t off = (off_t)(((uintptr_t)p >> HZ3_PAGE_SHIFT) * sizeof(uint64_t));
    ssize_t n = pread(fd, words, pages * sizeof(uint64_t), off);
    close(fd);
    if (n != (ssize_t)(pages * sizeof(uint64_t))) return false;
    for (size_t i = 0; i < pages; i++) out[i] = (words[i] >> 63 & 1) && (words[i] >> 56 & 1);
    return true;
}

uint64_t _hz3_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t _hz3_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t _hz3_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
