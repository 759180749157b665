/*
 * test-purge.c: purging lowers RSS while running. Build up free memory,
 * read cand_decommit_pages from an exact census, then let epochs purge it:
 * the Rss of hz3's mappings (smaps) must drop by at least 90% of what the
 * census predicted, in few madvise calls. Then the delay: memory freed
 * just now is not purged by an epoch before purge_delay_ms has passed.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "test_util.h"

enum { N = 40000 };
static void *p[N];

static void build_and_free(size_t size)
{
    for (int i = 0; i < N; i++) {
        p[i] = malloc(size);
        memset(p[i], 0x33, size);
    }
    for (int i = 0; i < N; i++) free(p[i]);
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    static struct hz3_snapshot snap;

    /* 1. Once the delay is over, a forced epoch purges every candidate.
     * (The snapshot is an epoch too: the delay keeps it from purging.) */
    CHECK(hz->config_set("epoch_interval_ms", 0) == 0);
    CHECK(hz->config_set("purge_delay_ms", 3600000) == 0);
    build_and_free(1000);   /* ~10,000 pages, all free now */
    t_snapshot(&snap);
    uint64_t cand = 0;
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) cand += snap.tier[t].cand_decommit_pages;
    size_t rss_before = t_hz3_rss();
    struct hz3_stats s0 = t_stats();
    CHECK(hz->config_set("purge_delay_ms", 0) == 0);
    hz->epoch_force();
    struct hz3_stats s1 = t_stats();
    size_t rss_after = t_hz3_rss();
    uint64_t dropped = rss_before > rss_after ? rss_before - rss_after : 0;
    uint64_t calls = s1.madvise_calls - s0.madvise_calls, pages = s1.pages_purged - s0.pages_purged;
    printf("purge: cand_decommit_pages=%llu (%llu KiB), rss %zu -> %zu KiB (dropped %llu KiB), %llu pages in %llu madvise calls\n",
           (unsigned long long)cand, (unsigned long long)cand * 4, rss_before >> 10, rss_after >> 10,
           (unsigned long long)dropped >> 10, (unsigned long long)pages, (unsigned long long)calls);
    CHECK_MSG(cand > 5000, "candidates %llu", (unsigned long long)cand);
    CHECK_MSG(dropped * 10 >= cand * 4096 * 9, "rss dropped %llu of %llu predicted", (unsigned long long)dropped,
              (unsigned long long)cand * 4096);
    CHECK_MSG(calls > 0 && calls * 32 <= pages, "%llu madvise calls for %llu pages", (unsigned long long)calls,
              (unsigned long long)pages);
    t_snapshot(&snap);
    uint64_t cand_after = 0;
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) cand_after += snap.tier[t].cand_decommit_pages;
    CHECK_MSG(cand_after * 20 < cand, "candidates left after the purge: %llu", (unsigned long long)cand_after);
    CHECK(hz->validate() == 0);

    /* 2. A delay holds freshly freed memory back from an epoch... */
    CHECK(hz->config_set("purge_delay_ms", 60000) == 0);
    build_and_free(1000);
    struct hz3_stats s2 = t_stats();
    hz->epoch_force();
    struct hz3_stats s3 = t_stats();
    CHECK_MSG(s3.pages_purged == s2.pages_purged, "purged %llu pages before the delay",
              (unsigned long long)(s3.pages_purged - s2.pages_purged));
    /* ...while malloc_trim (and hz3_purge_now) ignore it. */
    size_t rss_full = t_hz3_rss();
    CHECK(malloc_trim(0) == 1);
    CHECK_MSG(t_hz3_rss() + (16u << 20) < rss_full, "malloc_trim left rss at %zu of %zu", t_hz3_rss(), rss_full);
    return t_finish("test-purge");
}
