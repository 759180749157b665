/*
 * test-large-decommit.c: a large extent given back to the kernel loses its
 * resident pages, reads as zero when reused, and keeps its page tables.
 *
 * A freed extent over the cache's bound (80 MiB with nothing live: the
 * bound is 64 MiB, test-large.c) is given back in free() itself. Only its
 * resident pages are zapped, so the kernel has no empty range of 2 MiB or
 * more to free page tables under: the process's page-table memory (VmPTE)
 * does not shrink, and the next object there faults without building them
 * again. (A kernel that never frees page tables at MADV_DONTNEED passes
 * that check either way.) Byte counts come from the test's own arithmetic.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define MIB ((size_t)1 << 20)
#define PAGE 4096u

/* VmPTE of /proc/self/status, in KiB; -1 if absent. */
static long vm_pte_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmPTE: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

static void sparse_extent(void)
{
    t_hz3()->purge_now();
    size_t n = 80 * MIB;
    unsigned char *a = malloc(n);
    size_t extent = malloc_usable_size(a) + 64;
    /* One page in every 2 MiB, and a dense first MiB: scattered pages and
     * a run. */
    long written = 0;
    for (size_t off = 2 * MIB; off < n; off += 2 * MIB, written++) a[off] = 0x5a;
    memset(a, 0x5a, MIB);
    written += (long)((64 + MIB + PAGE - 1) / PAGE);
    long r = t_resident_pages(a - 64, extent);
    CHECK_MSG(r == written, "written object: %ld pages resident, %ld written", r, written);

    long pte_before = vm_pte_kib();
    free(a);
    long pte_after = vm_pte_kib();
    struct hz3_stats st = t_stats();
    CHECK_MSG(st.large_count == 0 && st.large_cached == 0, "after the free: %llu live, %llu cached",
              (unsigned long long)st.large_count, (unsigned long long)st.large_cached);
    r = t_resident_pages(a - 64, extent);
    CHECK_MSG(r == 0, "after the free the extent is %s (%ld pages)", r < 0 ? "unmapped" : "still resident", r);
    CHECK_MSG(pte_before > 0 && pte_after >= pte_before, "page tables freed with the pages: VmPTE %ld -> %ld KiB",
              pte_before, pte_after);
    static struct hz3_snapshot snap;
    t_hz3_rss();
    t_snapshot(&snap);
    size_t rss = t_hz3_rss();
    CHECK_MSG(snap.census_resident_bytes == rss, "census %llu bytes resident, smaps %zu",
              (unsigned long long)snap.census_resident_bytes, rss);

    /* The next object of its size takes the same place and reads as zero,
     * calloc's included. */
    unsigned char *b = calloc(1, n);
    CHECK_MSG(b == a, "same size again: %p, freed %p", (void *)b, (void *)a);
    bool zero = true;
    for (size_t i = 0; i < n; i += 64) zero &= b[i] == 0;
    CHECK_MSG(zero, "a given-back extent does not read as zero");
    free(b);
}

int main(void)
{
    /* Only the test's own epochs. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    sparse_extent();
    return t_finish("test-large-decommit");
}
