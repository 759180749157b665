/*
 * glibc_extras.c: the glibc malloc extensions that JVM tools and libraries
 * call, answered from hz3's own state.
 *   malloc_trim  gives back what is free now (hz3_purge_now): the empty
 *                spans every thread keeps, every free page (decommitted in
 *                runs), wholly free segments and the large-mapping cache.
 *                `jcmd PID System.trim_native_heap` lands here. Returns 1 if
 *                anything was returned.
 *   mallinfo2    hz3's totals: arena = bytes of active segments, uordblks =
 *                bytes of pages holding spans, fordblks = free pages in
 *                segments, hblks/hblkhd = live large mappings, keepcost =
 *                cached large mappings. mallinfo is the same, clamped to int.
 *   mallopt      accepted and ignored (returns 1): glibc's knobs (arenas,
 *                trim and mmap thresholds) have no counterpart here.
 *   malloc_info  hz3's state as XML; options must be 0 (as in glibc).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include "hz3_internal.h"

static struct hz3_stats stats_now(void)
{
    struct hz3_stats st;
    st.size = sizeof st;
    hz3_stats_get(&st);
    return st;
}

HZ3_EXPORT int HZ3_SYM(malloc_trim)(size_t pad)
{
    (void)pad;
    struct hz3_stats before = stats_now();
    uint64_t pages = hz3_purge_now();
    struct hz3_stats after = stats_now();
    return pages != 0 || before.large_cached != after.large_cached || after.segments_active < before.segments_active;
}

HZ3_EXPORT struct mallinfo2 HZ3_SYM(mallinfo2)(void)
{
    struct hz3_stats st = stats_now();
    struct mallinfo2 mi;
    memset(&mi, 0, sizeof mi);
    mi.arena = st.segment_bytes;
    mi.ordblks = st.free_pages;
    mi.hblks = st.large_count;
    mi.hblkhd = st.large_bytes;
    mi.uordblks = st.span_pages * HZ3_PAGE_SIZE;
    mi.fordblks = st.free_pages * HZ3_PAGE_SIZE;
    mi.keepcost = st.large_cached_bytes;
    return mi;
}

static int clamp(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

HZ3_EXPORT struct mallinfo HZ3_SYM(mallinfo)(void)
{
    struct mallinfo2 m2 = HZ3_SYM(mallinfo2)();
    struct mallinfo mi;
    memset(&mi, 0, sizeof mi);
    mi.arena = clamp(m2.arena);
    mi.ordblks = clamp(m2.ordblks);
    mi.hblks = clamp(m2.hblks);
    mi.hblkhd = clamp(m2.hblkhd);
    mi.uordblks = clamp(m2.uordblks);
    mi.fordblks = clamp(m2.fordblks);
    mi.keepcost = clamp(m2.keepcost);
    return mi;
}

HZ3_EXPORT int HZ3_SYM(mallopt)(int param, int value)
{
    (void)param;
    (void)value;
    return 1;
}

HZ3_EXPORT int HZ3_SYM(malloc_info)(int options, FILE *fp)
{
    if (options != 0) {
        errno = EINVAL;
        return -1;
    }
    struct hz3_stats st = stats_now();
    fprintf(fp,
            "<malloc version=\"hz3-%s\">\n"
            "<segments active=\"%llu\" bytes=\"%llu\" span_pages=\"%llu\" free_pages=\"%llu\"/>\n"
            "<reservations count=\"%llu\" bytes=\"%llu\"/>\n"
            "<large count=\"%llu\" bytes=\"%llu\" cached=\"%llu\" cached_bytes=\"%llu\"/>\n"
            "<heaps live=\"%llu\" created=\"%llu\" threads_exited=\"%llu\"/>\n"
            "<total type=\"mmap\" count=\"%llu\" size=\"%llu\"/>\n"
            "<system type=\"current\" size=\"%llu\"/>\n"
            "</malloc>\n",
            hz3_version(), (unsigned long long)st.segments_active, (unsigned long long)st.segment_bytes,
            (unsigned long long)st.span_pages, (unsigned long long)st.free_pages,
            (unsigned long long)st.reservations, (unsigned long long)st.reserved_bytes,
            (unsigned long long)st.large_count, (unsigned long long)st.large_bytes,
            (unsigned long long)st.large_cached, (unsigned long long)st.large_cached_bytes,
            (unsigned long long)st.heaps_live, (unsigned long long)st.heaps_created,
            (unsigned long long)st.threads_exited, (unsigned long long)st.large_count,
            (unsigned long long)st.large_bytes,
            (unsigned long long)(st.segment_bytes + st.large_bytes + st.large_cached_bytes));
    return 0;
}
