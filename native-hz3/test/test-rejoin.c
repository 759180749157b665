/*
 * test-rejoin.c: a full span goes back on its owner's avail list once its
 * owner's frees have left a quarter of its blocks free in it (capacity / 4,
 * at most 64; span.c, _hz3_free_local_slow), not at the first free: taken
 * back for one block, it would send the next malloc straight back to the
 * slow path. Until then its free blocks wait in it, free for the census. A
 * remote free, an empty span and a thread's end take it as before, and the
 * census stays exact throughout.
 *
 * The objects: blocks of one size made in a row by a fresh thread, so that
 * span k holds objects k*cap .. k*cap+cap-1 (checked from their addresses;
 * cap from the census's span length for the class), for a sub4k class
 * (1536 B, 16 a span), a small one (256 B, 16 a span) and a small one
 * with more than 64 blocks a span (48 B, 85: rejoins at 21, a quarter, no
 * longer capped at 16).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { SPANS = 3, MAX_CAP = 128, REJOIN_MAX = 64 };
static unsigned size;
static void *obj[SPANS * MAX_CAP];
static unsigned cap, rejoin, n, cls, span_pages;
static uint64_t live0;
static pthread_barrier_t parked, go;

static uint64_t live_now(void)
{
    static struct hz3_snapshot s;
    return t_snapshot(&s)->classes[cls].live_objects;
}

/* The class's census now: live objects, and the pages of its full and its
 * partial spans. */
typedef struct { uint64_t live, full, partial; } counts_t;
static counts_t counts_now(void)
{
    static struct hz3_snapshot s;
    const struct hz3_class_census *c = &t_snapshot(&s)->classes[cls];
    return (counts_t){ c->live_objects, c->pages[HZ3_PS_FULL], c->pages[HZ3_PS_PARTIAL] };
}

static bool in_span(const void *p, unsigned k)
{
    return (const char *)p >= (const char *)obj[k * cap] && (const char *)p < (const char *)obj[k * cap] + (size_t)cap * size;
}

static void *remote_free_span1(void *arg)
{
    for (unsigned i = rejoin - 1; i < cap; i++) free(obj[cap + i]);
    return arg;   /* its batch is pushed as the thread ends */
}

static void *owner(void *arg)
{
    for (unsigned i = 0; i < n; i++) memset(obj[i] = malloc(size), 0x5a, size);
    bool rows = true;
    for (unsigned k = 0; k < SPANS; k++)
        for (unsigned i = 0; i < cap; i++) rows &= obj[k * cap + i] == (char *)obj[k * cap] + (size_t)i * size;
    CHECK_MSG(rows, "the objects do not lie in spans of %u in a row", cap);

    /* Spans 0 and 1 are full (on the full list), span 2 is full and current.
     * One block fewer than rejoin freed into span 0: it stays full, and the
     * next malloc takes a fresh span. While on the full list its count of
     * blocks in use is kept biased (hz3_internal.h): after every free the
     * census counts the span's live blocks exactly and its pages as
     * partial, from the first free on. */
    counts_t c0 = counts_now();
    bool exact = true;
    for (unsigned i = 0; i < rejoin - 1; i++) {
        free(obj[i]);
        counts_t c = counts_now();
        bool ok = c.live == c0.live - (i + 1) && c.full == c0.full - span_pages && c.partial == c0.partial + span_pages;
        if (!ok)
            fprintf(stderr, "after %u frees into a full span: live %llu full %llu partial %llu, want %llu %llu %llu\n",
                    i + 1, (unsigned long long)c.live, (unsigned long long)c.full, (unsigned long long)c.partial,
                    (unsigned long long)(c0.live - (i + 1)), (unsigned long long)(c0.full - span_pages),
                    (unsigned long long)(c0.partial + span_pages));
        exact &= ok;
    }
    CHECK_MSG(exact, "the census of a full span partly freed is not exact");
    CHECK(live_now() == live0 + n - (rejoin - 1));
    CHECK(t_hz3()->validate() == 0);
    void *fresh = malloc(size);
    CHECK_MSG(!in_span(fresh, 0), "a malloc took one of the %u blocks freed into a full span", rejoin - 1);
    free(fresh);

    /* The rejoin-th: span 0 is back on avail, still partial, its count
     * no longer biased. Once the fresh span's cap blocks are handed out,
     * the next mallocs take exactly span 0's. */
    free(obj[rejoin - 1]);
    counts_t c1 = counts_now();
    CHECK(c1.live == c0.live - rejoin && c1.full == c0.full - span_pages && c1.partial == c0.partial + span_pages);
    CHECK(live_now() == live0 + n - rejoin);
    CHECK(t_hz3()->validate() == 0);
    void *more[MAX_CAP + MAX_CAP];
    for (unsigned i = 0; i < cap + rejoin; i++) more[i] = malloc(size);
    bool fresh_first = true, span0_next = true;
    for (unsigned i = 0; i < cap; i++) fresh_first &= !in_span(more[i], 0);
    for (unsigned i = cap; i < cap + rejoin; i++) span0_next &= in_span(more[i], 0);
    CHECK(fresh_first);
    CHECK_MSG(span0_next, "the mallocs after the fresh span did not take span 0's %u free blocks", rejoin);
    CHECK(live_now() == live0 + n + cap);
    for (unsigned i = 0; i < cap + rejoin; i++) free(more[i]);
    CHECK(live_now() == live0 + n - rejoin);
    CHECK(t_hz3()->validate() == 0);

    /* Span 1: rejoin - 1 blocks freed here (it stays full), the rest by
     * another thread, then a purge, while this thread parks. */
    for (unsigned i = 0; i < rejoin - 1; i++) free(obj[cap + i]);
    pthread_barrier_wait(&parked);
    pthread_barrier_wait(&go);
    void *again[MAX_CAP];
    for (unsigned i = 0; i < cap; i++) memset(again[i] = malloc(size), 0x33, size);
    bool distinct = true;
    for (unsigned i = 0; i < cap; i++)
        for (unsigned j = i + 1; j < cap; j++) distinct &= again[i] != again[j];
    CHECK(distinct);
    for (unsigned i = 0; i < cap; i++) free(again[i]);
    CHECK(t_hz3()->validate() == 0);

    /* Span 2 ends the thread full, with rejoin - 1 blocks free in it. */
    for (unsigned i = 0; i < rejoin - 1; i++) free(obj[2 * cap + i]);
    return arg;
}

static void run_case(void)
{
    static struct hz3_snapshot before;
    t_snapshot(&before);
    void *probe = malloc(size);
    size_t usable = malloc_usable_size(probe);
    free(probe);
    cls = UINT32_MAX;
    for (unsigned c = 0; c < before.num_classes; c++)
        if (before.classes[c].object_size == usable) cls = c;
    CHECK_MSG(cls != UINT32_MAX && usable == size, "no class of %u B (usable %zu)", size, usable);
    if (cls == UINT32_MAX) return;
    span_pages = before.classes[cls].span_pages;
    cap = span_pages * 4096u / size;
    CHECK_MSG(cap >= 8 && cap <= MAX_CAP, "%u blocks of %u B in a span", cap, size);
    if (cap < 8 || cap > MAX_CAP) return;
    rejoin = cap / 4 > REJOIN_MAX ? REJOIN_MAX : cap / 4;
    n = SPANS * cap;
    live0 = live_now();

    pthread_barrier_init(&parked, NULL, 2);
    pthread_barrier_init(&go, NULL, 2);
    pthread_t t, r;
    CHECK(pthread_create(&t, NULL, owner, NULL) == 0);
    pthread_barrier_wait(&parked);
    CHECK(pthread_create(&r, NULL, remote_free_span1, NULL) == 0);
    pthread_join(r, NULL);
    CHECK(live_now() == live0 + n - rejoin - cap);
    uint64_t pages0 = t_stats().span_pages;
    t_hz3()->purge_now();
    CHECK_MSG(t_stats().span_pages + before.classes[cls].span_pages <= pages0,
              "span 1, emptied by another thread, not given back by the purge");
    CHECK(live_now() == live0 + n - rejoin - cap);
    CHECK(t_hz3()->validate() == 0);
    pthread_barrier_wait(&go);
    pthread_join(t, NULL);

    /* The owner is gone; its objects are whole and free from here. */
    uint64_t left = n - rejoin - cap - (rejoin - 1);
    CHECK(live_now() == live0 + left);
    bool whole = true;
    for (unsigned i = rejoin; i < cap; i++) whole &= ((unsigned char *)obj[i])[size - 1] == 0x5a;
    for (unsigned i = 2 * cap + rejoin - 1; i < n; i++) whole &= ((unsigned char *)obj[i])[size - 1] == 0x5a;
    CHECK(whole);
    for (unsigned i = rejoin; i < cap; i++) free(obj[i]);
    for (unsigned i = 2 * cap + rejoin - 1; i < n; i++) free(obj[i]);
    CHECK(live_now() == live0);
    CHECK(t_hz3()->validate() == 0);
}

int main(void)
{
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    static const unsigned sizes[] = {1536, 256, 48};
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size = sizes[i];
        run_case();
    }
    return t_finish("test-rejoin");
}
