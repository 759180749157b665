/*
 * test-pool-mixed.c: a free run made of pages given back and pages never
 * touched (or purged) serves a request that fits it, instead of a new
 * segment. The page pool's index holds runs of one dirtiness; a run given
 * back next to untouched pages made two of them, neither long enough, and
 * the request mapped a new segment (and faulted all its pages) while the
 * pages it needed sat free.
 */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { KB = 1024, SEG = 1 << 20 };

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    CHECK(hz->config_set("epoch_interval_ms", 0) == 0);   /* no purge between the steps */
    CHECK(hz->config_set("purge_delay_ms", 3600000) == 0);

    /* A run of 100 pages at the start of a fresh segment, written, then
     * given back: 100 dirty pages and 151 untouched ones, one free run. */
    void *a = malloc(400 * KB);
    CHECK(a != NULL);
    memset(a, 1, 400 * KB);
    struct hz3_stats s0 = t_stats();
    free(a);

    /* 200 pages fit there and nowhere else in the process. */
    void *b = malloc(800 * KB);
    CHECK(b != NULL);
    memset(b, 2, 800 * KB);
    struct hz3_stats s1 = t_stats();
    printf("segments before %llu, after %llu; the run %s the freed one's segment\n",
           (unsigned long long)s0.segments_active, (unsigned long long)s1.segments_active,
           (uintptr_t)b / SEG == (uintptr_t)a / SEG ? "in" : "not in");
    CHECK_MSG(s1.segments_active == s0.segments_active, "a new segment: %llu -> %llu",
              (unsigned long long)s0.segments_active, (unsigned long long)s1.segments_active);
    CHECK((uintptr_t)b / SEG == (uintptr_t)a / SEG);
    /* It took the dirty pages first: the run starts where the freed one did. */
    CHECK(b == a);
    CHECK(hz->validate() == 0);

    free(b);
    return t_finish("test-pool-mixed");
}
