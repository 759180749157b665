/*
 * test-single-cache.c: a thread's freed singles (20-32 KiB objects, one per
 * span) wait in its block cache (src/bcache.c, src/single.c), and its next
 * mallocs of the class take them back, most recent first. Meanwhile the
 * census counts them as include/hz3.h says: not live, their pages empty
 * and held by that thread (held_empty_pages, not cand_decommit_pages); a
 * purge from another thread leaves them resident; a second free of one is
 * a double free. They go back at the cache's flush points: the thread's
 * first allocation slow path after a purge, a census the thread takes
 * itself (then they are purge candidates), and the thread's end (a single
 * another thread made, freed into the cache, goes back with them).
 *
 * Thread S runs three phases, one single class each (20, 24, 28 KiB), so
 * that each phase starts with the class's first malloc on S; the main
 * thread takes the censuses in between, while S waits.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { N = 4, FREED = 2 };
static const size_t sizes[3] = { 20000, 24000, 28000 };
static void *obj[3][N], *again[FREED], *from_main;
static struct hz3_snapshot s_own;
static pthread_barrier_t bar;

static void step(void) { pthread_barrier_wait(&bar); }

static void *thread_s(void *arg)
{
    /* 1: cached; reused from the cache; back at the first slow path
     * after a purge (a malloc of a class S never used) */
    for (int i = 0; i < N; i++) memset(obj[0][i] = malloc(sizes[0]), 0x5a, sizes[0]);
    for (int i = 0; i < FREED; i++) free(obj[0][i]);
    step();   /* main: census, purge, census */
    step();
    for (int i = 0; i < FREED; i++) again[i] = malloc(sizes[0]);
    for (int i = 0; i < FREED; i++) free(again[i]);
    step();   /* main: census */
    step();
    void *slow = malloc(3000);
    step();   /* main: census */
    step();

    /* 2: cached; back at a census S takes itself */
    for (int i = 0; i < N; i++) memset(obj[1][i] = malloc(sizes[1]), 0x5a, sizes[1]);
    for (int i = 0; i < FREED; i++) free(obj[1][i]);
    step();   /* main: census */
    step();
    t_snapshot(&s_own);
    step();   /* main: census */
    step();

    /* 3: cached, with one single main made; back at the thread's end */
    for (int i = 0; i < N; i++) memset(obj[2][i] = malloc(sizes[2]), 0x5a, sizes[2]);
    for (int i = 0; i < FREED; i++) free(obj[2][i]);
    free(from_main);
    step();   /* main: census */
    step();
    for (int i = 0; i < 3; i++)
        for (int k = FREED; k < N; k++) free(obj[i][k]);
    free(slow);
    return arg;
}

/* The census of class c in `now` against `base`: objects live and spans
 * more, empty pages more and of them candidates more, and pages held more. */
static void expect(const char *what, const struct hz3_snapshot *base, const struct hz3_snapshot *now, int c,
                   long live, long spans, long empty, long cand, long held)
{
    t_class_delta d = t_class_delta_of(base, now, c);
    CHECK_MSG(d.live == live && d.spans == spans && d.empty == empty && d.cand == cand && d.held == held,
              "[%s] live %+ld spans %+ld empty pages %+ld candidates %+ld held %+ld; expected %+ld %+ld %+ld %+ld %+ld",
              what, d.live, d.spans, d.empty, d.cand, d.held, live, spans, empty, cand, held);
}

int main(void)
{
    /* Only the epochs this test asks for. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    static struct hz3_snapshot base, now;
    int cls[3];
    long pages[3];
    t_snapshot(&base);
    for (int i = 0; i < 3; i++) {
        size_t usable = (sizes[i] + 4095) / 4096 * 4096;
        cls[i] = t_class_of(&base, usable);
        CHECK_MSG(cls[i] >= 0 && base.classes[cls[i]].span_pages * 4096u == usable, "a class of %zu B, one per span", usable);
        if (cls[i] < 0) return t_finish("test-single-cache");
        pages[i] = (long)(usable / 4096);
    }
    from_main = malloc(sizes[2]);
    memset(from_main, 0x5a, sizes[2]);
    t_snapshot(&base);

    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_s, NULL) == 0);

    /* 1 */
    step();
    t_snapshot(&now);
    expect("20 KiB: two of four freed, cached", &base, &now, cls[0], N - FREED, N, FREED * pages[0], 0, FREED * pages[0]);
    CHECK(t_hz3()->validate() == 0);
    t_hz3()->purge_now();
    for (int i = 0; i < FREED; i++)
        CHECK_MSG(t_resident_pages(obj[0][i], sizes[0]) == pages[0], "cached single %d: %ld of %ld pages resident after a purge",
                  i, t_resident_pages(obj[0][i], sizes[0]), pages[0]);
    t_snapshot(&now);
    expect("20 KiB: after another thread's purge", &base, &now, cls[0], N - FREED, N, FREED * pages[0], 0,
           FREED * pages[0]);
    CHECK(t_free_aborts(obj[0][0]));
    CHECK(t_free_aborts(obj[0][FREED - 1]));
    step();
    step();
    int lifo = 0;
    for (int i = 0; i < FREED; i++) lifo += again[i] == obj[0][FREED - 1 - i];
    CHECK_MSG(lifo == FREED, "%d of S's %d next mallocs took back its freed singles, most recent first", lifo, FREED);
    t_snapshot(&now);
    expect("20 KiB: taken again and freed again", &base, &now, cls[0], N - FREED, N, FREED * pages[0], 0, FREED * pages[0]);
    step();
    step();
    t_snapshot(&now);
    expect("20 KiB: after S's first slow path since the purge", &base, &now, cls[0], N - FREED, N - FREED, 0, 0, 0);
    CHECK(t_hz3()->validate() == 0);
    memcpy(&base, &now, sizeof base);
    step();

    /* 2 */
    step();
    t_snapshot(&now);
    expect("24 KiB: two of four freed, cached", &base, &now, cls[1], N - FREED, N, FREED * pages[1], 0, FREED * pages[1]);
    step();
    step();
    expect("24 KiB: S's own census", &base, &s_own, cls[1], N - FREED, N, FREED * pages[1], FREED * pages[1], 0);
    t_snapshot(&now);
    expect("24 KiB: after S's own census", &base, &now, cls[1], N - FREED, N, FREED * pages[1], FREED * pages[1], 0);
    CHECK(t_hz3()->validate() == 0);
    memcpy(&base, &now, sizeof base);
    step();

    /* 3: one more cached, the one main made (and counted live in base) */
    step();
    t_snapshot(&now);
    expect("28 KiB: two of S's four and main's one freed, cached", &base, &now, cls[2], N - FREED - 1, N, (FREED + 1) * pages[2],
           0, (FREED + 1) * pages[2]);
    CHECK(t_free_aborts(from_main));
    CHECK(t_hz3()->validate() == 0);
    step();
    pthread_join(t, NULL);
    t_snapshot(&now);
    expect("28 KiB: after S ended", &base, &now, cls[2], -1, -1, 0, 0, 0);
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-single-cache");
}
