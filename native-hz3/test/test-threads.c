/*
 * test-threads.c: 10,000 thread lifetimes, four alive at a time. Each
 * thread allocates objects of every segment tier, frees most, and leaves
 * some for the next generation to free (cross-thread frees into the heaps
 * of ended threads). A thread's memory must go back when it ends: from the
 * first hundred lifetimes on, heap records stay flat, and once free memory
 * is purged (hz3_purge_now, which skips the purge delay) no segment is left
 * without a live object, no span without a live object beyond what the
 * main thread itself keeps, and what is resident stays flat too.
 *
 * Why not the number of segments after the purge: it is the number of
 * segments the last generation's 64 handed-off objects happen to land in,
 * and that depends on how the four threads interleave (under load they
 * overlap more, their spans spread over more segments: 3 at lifetime 100,
 * 5 at the end, with nothing leaked). What a leak leaves behind, segments
 * and spans that hold no live object, does not depend on it: the census
 * counts those exactly, and with no leak they are the main thread's own
 * spans, the same at every measurement. (The main thread makes those spans
 * before any thread starts, next to an object it keeps live, so that their
 * segment never counts as one without a live object either.)
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define LIFETIMES 10000
#define ALIVE 4
#define PER_THREAD 300
#define HANDOFF 16
#define MEDIUM_MIN 4096
#define MEDIUM_SPREAD 20000
/* Blocks in a span of a medium class, at most (hz3_types.h, HZ3_MEDIUM_CAPACITY),
 * and the pages of a segment that spans can use (256 less 5 header pages). */
#define MEDIUM_SPAN_BLOCKS 16u
#define SEGMENT_PAGES 251u

static void *handoff[ALIVE][HANDOFF];

static void *life(void *arg)
{
    unsigned idx = (unsigned)(uintptr_t)arg;
    uint64_t r = idx * 7919u + 1;
    void *mine[PER_THREAD];
    for (int i = 0; i < PER_THREAD; i++) {
        size_t n = (t_rand(&r) % 8 == 0) ? MEDIUM_MIN + t_rand(&r) % MEDIUM_SPREAD : 16 + t_rand(&r) % 2000;
        mine[i] = malloc(n);
        memset(mine[i], 0x5a, n < 64 ? n : 64);
    }
    /* free what the previous thread in this lane left behind */
    for (int i = 0; i < HANDOFF; i++) free(handoff[idx % ALIVE][i]);
    for (int i = 0; i < PER_THREAD - HANDOFF; i++) free(mine[i]);
    for (int i = 0; i < HANDOFF; i++) handoff[idx % ALIVE][i] = mine[PER_THREAD - HANDOFF + i];
    return NULL;
}

/* What stays after a purge once every thread has ended, measured the same
 * way at the checkpoints and at the end (the main thread's own allocations,
 * t_hz3_rss's stdio among them, are then the same each time). */
struct after_purge {
    struct hz3_stats st;
    uint64_t segs_unused;   /* active segments holding no live object */
    uint64_t empty_pages;   /* resident pages of spans holding no live object */
    size_t rss;
};

static struct after_purge measure(void)
{
    static struct hz3_snapshot snap;
    struct after_purge m;
    t_hz3()->purge_now();
    t_snapshot(&snap);
    m.st = t_stats();
    m.segs_unused = snap.cand_unmap_segs;
    m.empty_pages = 0;
    for (unsigned t = HZ3_TIER_SMALL; t <= HZ3_TIER_LARGE; t++) m.empty_pages += snap.tier[t].pages[HZ3_PS_EMPTY];
    m.rss = t_hz3_rss();
    return m;
}

int main(void)
{
    struct after_purge at100 = { 0 };   /* segments_active, heaps_created and rss used */
    pthread_t t[ALIVE];
    /* The main thread's own spans first, in the one segment there is yet,
     * with main_live there too (see the top). */
    void *main_live = malloc(64);
    (void)measure();
    struct after_purge base = measure();   /* now with t_hz3_rss's stdio spans made too */
    for (unsigned gen = 0; gen < LIFETIMES / ALIVE; gen++) {
        for (unsigned i = 0; i < ALIVE; i++) pthread_create(&t[i], NULL, life, (void *)(uintptr_t)(gen * ALIVE + i));
        for (unsigned i = 0; i < ALIVE; i++) pthread_join(t[i], NULL);
        /* Baseline: the most seen at the checkpoints of lifetimes 100..1000
         * (which threads leave objects where varies from run to run). */
        unsigned done = (gen + 1) * ALIVE;
        if (done >= 100 && done <= 1000 && done % 100 == 0) {
            struct after_purge m = measure();
            CHECK_MSG(m.segs_unused <= base.segs_unused && m.empty_pages <= base.empty_pages,
                      "after %u lifetimes: segments without a live object %llu (at the start %llu), "
                      "pages of spans without one %llu (at the start %llu)", done,
                      (unsigned long long)m.segs_unused, (unsigned long long)base.segs_unused,
                      (unsigned long long)m.empty_pages, (unsigned long long)base.empty_pages);
            if (m.st.segments_active > at100.st.segments_active) at100.st.segments_active = m.st.segments_active;
            if (m.st.heaps_created > at100.st.heaps_created) at100.st.heaps_created = m.st.heaps_created;
            if (m.rss > at100.rss) at100.rss = m.rss;
        }
    }
    struct hz3_stats before_purge = t_stats();
    struct after_purge end = measure();
    /* Before the purge, the segments that the last threads' spans emptied
     * are still held, waiting out the purge delay: at most what the ALIVE
     * threads held at once. Their medium spans dominate that: one span of
     * each medium class a thread used, MEDIUM_SPAN_BLOCKS blocks each. */
    size_t medium_pages = 0, last_usable = 0;
    for (size_t n = MEDIUM_MIN; n < MEDIUM_MIN + MEDIUM_SPREAD; n += 512) {
        void *p = malloc(n);
        size_t u = malloc_usable_size(p);
        free(p);
        if (u != last_usable) medium_pages += MEDIUM_SPAN_BLOCKS * u / 4096;
        last_usable = u;
    }
    uint64_t held_segments = (ALIVE * medium_pages + SEGMENT_PAGES - 1) / SEGMENT_PAGES;
    CHECK_MSG(before_purge.segments_active <= at100.st.segments_active + 2 + held_segments,
              "segments in use grew: %llu -> %llu (the threads' spans fill %llu)",
              (unsigned long long)at100.st.segments_active, (unsigned long long)before_purge.segments_active,
              (unsigned long long)held_segments);
    printf("at the start: segments without a live object=%llu, pages of spans without one=%llu; "
           "lifetimes 100..1000 (most): segments=%llu heaps=%llu rss=%zu KiB; "
           "after %d: segments=%llu (without a live object %llu) pages of spans without one=%llu heaps=%llu "
           "rss=%zu KiB exited=%llu\n",
           (unsigned long long)base.segs_unused, (unsigned long long)base.empty_pages,
           (unsigned long long)at100.st.segments_active, (unsigned long long)at100.st.heaps_created, at100.rss >> 10,
           LIFETIMES, (unsigned long long)end.st.segments_active, (unsigned long long)end.segs_unused,
           (unsigned long long)end.empty_pages, (unsigned long long)end.st.heaps_created, end.rss >> 10,
           (unsigned long long)end.st.threads_exited);
    CHECK(end.st.threads_exited >= LIFETIMES);
    CHECK(end.st.heaps_live <= 2);   /* main thread, at most one more */
    /* heap records are recycled: never more than were alive at once */
    CHECK_MSG(end.st.heaps_created <= ALIVE + 2, "heap records: %llu -> %llu",
              (unsigned long long)at100.st.heaps_created, (unsigned long long)end.st.heaps_created);
    /* what ended threads leave goes back: every segment still held holds a
     * live object (the handed-off ones, the main thread's), and no span
     * without one is kept beyond the main thread's own, as at the start */
    CHECK_MSG(end.segs_unused <= base.segs_unused, "segments without a live object: %llu (at the start %llu)",
              (unsigned long long)end.segs_unused, (unsigned long long)base.segs_unused);
    CHECK_MSG(end.empty_pages <= base.empty_pages, "pages of spans without a live object: %llu (at the start %llu)",
              (unsigned long long)end.empty_pages, (unsigned long long)base.empty_pages);
    CHECK_MSG(end.rss <= at100.rss + at100.rss / 4 + (256u << 10), "rss grew: %zu -> %zu", at100.rss, end.rss);
    for (unsigned l = 0; l < ALIVE; l++)
        for (int i = 0; i < HANDOFF; i++) free(handoff[l][i]);
    free(main_live);
    return t_finish("test-threads");
}
