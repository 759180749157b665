/*
 * test-census.c: the S135 census on heaps whose shape the test knows.
 * Every expected value comes from the test's own arithmetic: request
 * sizes, malloc_usable_size and addresses. Each case runs on a thread of
 * its own (its own spans) and compares the class's census before and after
 * building the heap. The cases use sizes whose spans are one page
 * (capacity = 4096 / usable size >= 16), or a medium span that the case
 * fills whole (its blocks fill its pages, the length the census reports
 * for the class), so that pages can be counted from addresses alone.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define PAGE 4096u
/* Blocks in a medium span, at most (hz3_types.h, HZ3_MEDIUM_CAPACITY). */
#define MEDIUM_SPAN_MAX_BLOCKS 16u

typedef struct {
    uint64_t pages[HZ3_PS_COUNT], occ[HZ3_OCC_COUNT], spans, live, capacity, waste, cand;
} expect_t;

static struct hz3_snapshot before, after;

static unsigned class_index(const struct hz3_snapshot *s, size_t usable)
{
    for (unsigned c = 0; c < s->num_classes; c++)
        if (s->classes[c].object_size == usable) return c;
    return UINT32_MAX;
}

static unsigned bucket(unsigned live, unsigned cap)
{
    if (live == 0) return HZ3_OCC_0;
    if (live * 4 <= cap) return HZ3_OCC_1_25;
    if (live * 2 <= cap) return HZ3_OCC_25_50;
    if (live * 4 <= cap * 3) return HZ3_OCC_50_75;
    return HZ3_OCC_75_100;
}

/* Expected census of one-page spans holding `all` objects (distinct pages
 * from addresses), of which those with live[i] set are still live. */
static expect_t expect_pages(void **all, const bool *live, size_t n, size_t usable)
{
    expect_t e;
    memset(&e, 0, sizeof e);
    unsigned cap = PAGE / (unsigned)usable;
    for (size_t i = 0; i < n; i++) {
        uintptr_t page = (uintptr_t)all[i] & ~(uintptr_t)(PAGE - 1);
        bool first = true;
        for (size_t j = 0; j < i && first; j++) first = ((uintptr_t)all[j] & ~(uintptr_t)(PAGE - 1)) != page;
        if (!first) continue;
        unsigned l = 0;
        for (size_t j = 0; j < n; j++)
            if (live[j] && ((uintptr_t)all[j] & ~(uintptr_t)(PAGE - 1)) == page) l++;
        e.spans++;
        e.capacity += cap;
        e.live += l;
        e.waste += PAGE % usable;
        unsigned state = l == 0 ? HZ3_PS_EMPTY : l == cap ? HZ3_PS_FULL : HZ3_PS_PARTIAL;
        e.pages[state]++;
        e.occ[bucket(l, cap)]++;
        if (l == 0) e.cand++;
    }
    return e;
}

static void check_class(const char *name, size_t usable, const expect_t *e)
{
    unsigned c = class_index(&after, usable);
    CHECK_MSG(c != UINT32_MAX, "[%s] no class of size %zu", name, usable);
    if (c == UINT32_MAX) return;
    const struct hz3_class_census *a = &after.classes[c], *b = &before.classes[c];
#define DELTA(f) (a->f - b->f)
    CHECK_MSG(DELTA(spans) == e->spans, "[%s] spans +%llu, expected +%llu", name, (unsigned long long)DELTA(spans), (unsigned long long)e->spans);
    CHECK_MSG(DELTA(live_objects) == e->live, "[%s] live +%llu, expected +%llu", name, (unsigned long long)DELTA(live_objects), (unsigned long long)e->live);
    CHECK_MSG(DELTA(capacity_objects) == e->capacity, "[%s] capacity +%llu, expected +%llu", name, (unsigned long long)DELTA(capacity_objects), (unsigned long long)e->capacity);
    CHECK_MSG(DELTA(tail_waste_bytes) == e->waste, "[%s] tail waste +%llu, expected +%llu", name, (unsigned long long)DELTA(tail_waste_bytes), (unsigned long long)e->waste);
    CHECK_MSG(DELTA(cand_decommit_pages) == e->cand, "[%s] cand +%llu, expected +%llu", name, (unsigned long long)DELTA(cand_decommit_pages), (unsigned long long)e->cand);
    for (unsigned k = 0; k < HZ3_PS_COUNT; k++)
        CHECK_MSG(DELTA(pages[k]) == e->pages[k], "[%s] pages[state %u] +%llu, expected +%llu", name, k,
                  (unsigned long long)DELTA(pages[k]), (unsigned long long)e->pages[k]);
    for (unsigned k = 0; k < HZ3_OCC_COUNT; k++)
        CHECK_MSG(DELTA(occ[k]) == e->occ[k], "[%s] occ[%u] +%llu, expected +%llu", name, k,
                  (unsigned long long)DELTA(occ[k]), (unsigned long long)e->occ[k]);
#undef DELTA
    /* the tier's totals are the sums over its classes */
    for (unsigned t = 0; t < 3; t++) {
        uint64_t live = 0, partial = 0;
        for (unsigned k = 0; k < after.num_classes; k++) {
            if (after.classes[k].tier != t) continue;
            live += after.classes[k].live_objects;
            partial += after.classes[k].pages[HZ3_PS_PARTIAL];
        }
        CHECK_MSG(after.tier[t].live_objects == live && after.tier[t].pages[HZ3_PS_PARTIAL] == partial,
                  "[%s] tier %u is not the sum of its classes", name, t);
    }
    CHECK_MSG(after.seq_first == after.seq_last && after.seq_last > before.seq_last && after.exact == 1,
              "[%s] snapshot numbering", name);
}

static void touch(void *p, size_t n) { memset(p, 0x77, n); }

/* A: 10,000 objects of 48 B, every other one freed. */
static void *case_every_other(void *arg)
{
    enum { N = 10000 };
    static void *p[N];
    static bool live[N];
    t_snapshot(&before);
    for (int i = 0; i < N; i++) touch(p[i] = malloc(48), 48);
    size_t usable = malloc_usable_size(p[0]);
    for (int i = 0; i < N; i++) {
        live[i] = i % 2 == 0;
        if (!live[i]) free(p[i]);
    }
    t_snapshot(&after);
    expect_t e = expect_pages(p, live, N, usable);
    CHECK(usable == 48 && e.live == N / 2);
    check_class("every other 48 B", usable, &e);
    for (int i = 0; i < N; i += 2) free(p[i]);
    return arg;
}

/* B: a class emptied by another thread (remote frees are not live). */
enum { B_N = 3000 };
static void *b_objects[B_N];
static void *free_all_b(void *arg)
{
    for (int i = 0; i < B_N; i++) free(b_objects[i]);
    return arg;
}
static void *case_remote_emptied(void *arg)
{
    static bool live[B_N];
    t_snapshot(&before);
    for (int i = 0; i < B_N; i++) touch(b_objects[i] = malloc(100), 100);
    size_t usable = malloc_usable_size(b_objects[0]);
    pthread_t t;
    pthread_create(&t, NULL, free_all_b, NULL);
    pthread_join(t, NULL);
    t_snapshot(&after);
    expect_t e = expect_pages(b_objects, live, B_N, usable);   /* none live */
    /* Emptied by another thread's frees, not yet collected by their owner
     * (this thread, alive): a purge from any thread gives them back, except
     * the span this thread allocates from now (the last object's page),
     * which is held. */
    e.cand -= 1;
    check_class("emptied remotely", usable, &e);
    CHECK_MSG(after.held_empty_pages - before.held_empty_pages == 1, "held +%llu, expected +1 (the current span)",
              (unsigned long long)(after.held_empty_pages - before.held_empty_pages));
    return arg;
}

/* C: pages of 256 B objects, each pinned by one survivor (the first block
 * of the page): every page is partial at 1/16. */
static void *case_pinned(void *arg)
{
    enum { N = 16 * 40 };
    static void *p[N];
    static bool live[N];
    t_snapshot(&before);
    for (int i = 0; i < N; i++) touch(p[i] = malloc(250), 250);
    size_t usable = malloc_usable_size(p[0]);
    for (int i = 0; i < N; i++) {
        live[i] = ((uintptr_t)p[i] % PAGE) == 0;
        if (!live[i]) free(p[i]);
    }
    t_snapshot(&after);
    expect_t e = expect_pages(p, live, N, usable);
    CHECK_MSG(e.pages[HZ3_PS_PARTIAL] == e.spans && e.occ[HZ3_OCC_1_25] == e.spans && e.live == e.spans,
              "every page pinned: %llu pages", (unsigned long long)e.spans);
    check_class("pinned by one survivor", usable, &e);
    for (int i = 0; i < N; i++)
        if (live[i]) free(p[i]);
    return arg;
}

/* D: a medium span, filled by a thread of its own (its first span of the
 * class, so the blocks are consecutive from the span's start) and every
 * block touched: full, then pinned by one survivor, then empty. Empty, it
 * is the span the thread allocates from, held by the thread: not a
 * candidate for a purge. */
static void medium_expect(expect_t *e, unsigned pages, unsigned blocks, unsigned live)
{
    memset(e, 0, sizeof *e);
    unsigned state = live == 0 ? HZ3_PS_EMPTY : live == blocks ? HZ3_PS_FULL : HZ3_PS_PARTIAL;
    e->pages[state] = pages;
    e->occ[bucket(live, blocks)] = pages;
    e->live = live;
    e->spans = 1;
    e->capacity = blocks;
}

/* after - before, field by field, as check_class compares deltas */
static expect_t expect_delta(const expect_t *now, const expect_t *was)
{
    expect_t d;
    for (unsigned k = 0; k < HZ3_PS_COUNT; k++) d.pages[k] = now->pages[k] - was->pages[k];
    for (unsigned k = 0; k < HZ3_OCC_COUNT; k++) d.occ[k] = now->occ[k] - was->occ[k];
    d.spans = now->spans - was->spans;
    d.live = now->live - was->live;
    d.capacity = now->capacity - was->capacity;
    d.waste = now->waste - was->waste;
    d.cand = now->cand - was->cand;
    return d;
}

static void *case_medium(void *arg)
{
    static void *m[MEDIUM_SPAN_MAX_BLOCKS];
    t_snapshot(&before);
    void *first = malloc(12000);
    size_t usable = malloc_usable_size(first);
    free(first);
    unsigned c = class_index(&before, usable);
    CHECK_MSG(c != UINT32_MAX, "a class of %zu B", usable);
    if (c == UINT32_MAX) return arg;
    unsigned pages = before.classes[c].span_pages, blocks = (unsigned)(pages * PAGE / usable);
    CHECK_MSG(blocks >= 2 && blocks <= MEDIUM_SPAN_MAX_BLOCKS && pages * PAGE == blocks * usable,
              "a span of %u pages holds %u blocks of %zu B, with no tail waste", pages, blocks, usable);
    if (blocks < 2 || blocks > MEDIUM_SPAN_MAX_BLOCKS) return arg;
    for (unsigned i = 0; i < blocks; i++) m[i] = malloc(12000);
    for (unsigned i = 0; i < blocks; i++) touch(m[i], usable);
    bool consecutive = (uintptr_t)m[0] % PAGE == 0;
    for (unsigned i = 1; i < blocks; i++) consecutive &= (char *)m[i] == (char *)m[0] + i * usable;
    CHECK_MSG(consecutive && usable >= 12000 && usable % 1024 == 0,
              "%u blocks of %zu B from %p: one span, in address order", blocks, usable, m[0]);

    expect_t full, pinned, empty, d;
    medium_expect(&full, pages, blocks, blocks);
    t_snapshot(&after);
    check_class("medium span full", usable, &full);

    memcpy(&before, &after, sizeof before);
    for (unsigned i = 1; i < blocks; i++) free(m[i]);
    t_snapshot(&after);
    medium_expect(&pinned, pages, blocks, 1);
    d = expect_delta(&pinned, &full);
    check_class("medium span pinned by one", usable, &d);

    memcpy(&before, &after, sizeof before);
    free(m[0]);
    t_snapshot(&after);
    medium_expect(&empty, pages, blocks, 0);
    d = expect_delta(&empty, &pinned);
    check_class("medium span emptied", usable, &d);
    CHECK_MSG(after.held_empty_pages - before.held_empty_pages == pages, "held +%llu, expected +%u (the current span)",
              (unsigned long long)(after.held_empty_pages - before.held_empty_pages), pages);
    return arg;
}

/* E: singles (20 KiB objects, one per span of 5 pages) of a thread of its
 * own, every page touched; half freed by the thread itself, half by
 * another thread, which stays alive. A freed single waits, empty, in the
 * cache of the thread that freed it: its pages are empty and a purge
 * candidate, not held, and a purge from this thread gives every one of
 * them back, the other thread's too. */
#define E_N 8
static void *e_objects[E_N];
static pthread_barrier_t e_freed, e_done;
static void *free_e_second_half(void *arg)   /* and stays, with its cache, until told */
{
    void *own = malloc(100);   /* a heap of its own, as a thread that allocates has */
    for (int i = E_N / 2; i < E_N; i++) free(e_objects[i]);
    pthread_barrier_wait(&e_freed);
    pthread_barrier_wait(&e_done);
    free(own);
    return arg;
}
static void singles_expect(expect_t *e, unsigned pages, unsigned live, unsigned empty)
{
    memset(e, 0, sizeof *e);
    e->spans = live + empty;
    e->live = live;
    e->capacity = live + empty;
    e->pages[HZ3_PS_FULL] = e->occ[HZ3_OCC_75_100] = (uint64_t)live * pages;
    e->pages[HZ3_PS_EMPTY] = e->occ[HZ3_OCC_0] = e->cand = (uint64_t)empty * pages;
}
static void *case_singles(void *arg)
{
    t_snapshot(&before);
    for (int i = 0; i < E_N; i++) touch(e_objects[i] = malloc(20000), 20000);
    size_t usable = malloc_usable_size(e_objects[0]);
    unsigned c = class_index(&before, usable);
    CHECK_MSG(c != UINT32_MAX && before.classes[c].span_pages * PAGE == usable,
              "a class of %zu B, one object per span", usable);
    if (c == UINT32_MAX) return arg;
    unsigned pages = before.classes[c].span_pages;
    for (int i = 0; i < E_N; i++) touch(e_objects[i], usable);
    expect_t e, was, d;
    singles_expect(&e, pages, E_N, 0);
    t_snapshot(&after);
    check_class("singles live", usable, &e);

    was = e;
    memcpy(&before, &after, sizeof before);
    for (int i = 0; i < E_N / 2; i++) free(e_objects[i]);
    t_snapshot(&after);
    singles_expect(&e, pages, E_N / 2, E_N / 2);
    d = expect_delta(&e, &was);
    check_class("singles half freed by their thread", usable, &d);

    was = e;
    memcpy(&before, &after, sizeof before);
    pthread_t t;
    pthread_barrier_init(&e_freed, NULL, 2);
    pthread_barrier_init(&e_done, NULL, 2);
    pthread_create(&t, NULL, free_e_second_half, NULL);
    pthread_barrier_wait(&e_freed);
    t_snapshot(&after);
    singles_expect(&e, pages, 0, E_N);
    d = expect_delta(&e, &was);
    check_class("singles half freed by another thread", usable, &d);
    CHECK_MSG(after.held_empty_pages == before.held_empty_pages, "held +%llu, expected +0",
              (unsigned long long)(after.held_empty_pages - before.held_empty_pages));

    was = e;
    memcpy(&before, &after, sizeof before);
    t_hz3()->purge_now();
    t_snapshot(&after);
    singles_expect(&e, pages, 0, 0);
    d = expect_delta(&e, &was);
    check_class("singles after a purge", usable, &d);
    pthread_barrier_wait(&e_done);
    pthread_join(t, NULL);
    return arg;
}

static void run(void *(*fn)(void *))
{
    pthread_t t;
    pthread_create(&t, NULL, fn, NULL);
    pthread_join(t, NULL);
}

/* census_resident_bytes against the Rss of hz3's mappings: within 0.05%. */
static void check_rss(const char *name, const struct hz3_snapshot *s)
{
    size_t rss = t_hz3_rss();
    double ratio = (double)s->census_resident_bytes / (double)rss;
    printf("%s: census resident %llu KiB, smaps Rss of hz3's mappings %zu KiB (%.5f)\n", name,
           (unsigned long long)s->census_resident_bytes >> 10, rss >> 10, ratio);
    CHECK_MSG(ratio > 0.9995 && ratio < 1.0005, "[%s] census %llu vs rss %zu", name,
              (unsigned long long)s->census_resident_bytes, rss);
}

/* Segment headers the census could read but hz3 never wrote: runs of 600
 * KiB, one per segment, leave the header pages holding the entries of each
 * segment's last pages unwritten. Reading such a page maps the kernel's
 * zero page (mincore: resident, smaps: not), or on kernels that give no
 * zero page to anonymous reads (as on the machine this was written on) a
 * fresh page (resident in both, and made by the census). Either way the
 * census must not read them: Rss stands still across two censuses, and
 * the census equals smaps within 0.05%. */
static void *case_unwritten_headers(void *arg)
{
    enum { N = 40 };
    static void *p[N];
    for (int i = 0; i < N; i++) touch(p[i] = malloc(600000), 600000);
    /* With allocation sampling on (run-tests.sh runs this test so too), a
     * sample taken from the reading's own mallocs may grow the side table
     * by a page: not the census's doing, so sampling pauses here. */
    void (*sampling_get)(struct hz3_sampling_stats *) =
        (void (*)(struct hz3_sampling_stats *))dlsym(RTLD_DEFAULT, "hz3_sampling_stats_get");
    int (*sampling_set)(uint64_t) = (int (*)(uint64_t))dlsym(RTLD_DEFAULT, "hz3_sampling_set");
    struct hz3_sampling_stats sampling = {0};
    if (sampling_get && sampling_set) {
        sampling_get(&sampling);
        sampling_set(0);
    }
    size_t rss0 = t_hz3_rss();   /* also makes the reading's own buffers */
    rss0 = t_hz3_rss();
    t_snapshot(&after);
    t_snapshot(&after);
    size_t rss1 = t_hz3_rss();
    if (sampling_set) sampling_set(sampling.mean_bytes);
    CHECK_MSG(rss1 == rss0, "two censuses moved Rss from %zu to %zu KiB", rss0 >> 10, rss1 >> 10);
    check_rss("unwritten headers", &after);
    for (int i = 0; i < N; i++) free(p[i]);
    return arg;
}

/* Ground truth: after a workload that touches its memory, the census's
 * resident bytes are the Rss of hz3's mappings, within 0.05%. */
static void ground_truth(void)
{
    enum { N = 30000 };
    static void *p[N];
    uint64_t r = 42;
    for (int i = 0; i < N; i++) {
        size_t n = (t_rand(&r) % 10 == 0) ? 4097 + t_rand(&r) % 60000 : 16 + t_rand(&r) % 3000;
        touch(p[i] = malloc(n), n);
    }
    for (int i = 0; i < N; i += 3) free(p[i]);
    t_hz3_rss();   /* the reading's own buffers exist before the census */
    check_rss("ground truth", t_snapshot(&after));
    CHECK(t_hz3()->validate() == 0);
    for (int i = 0; i < N; i++)
        if (i % 3) free(p[i]);
}

int main(void)
{
    /* No transparent huge pages: with them, a header page hz3 never wrote
     * may be resident as part of a huge page, which hides the case of
     * unwritten headers below. */
    CHECK(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0);
    /* No timer epochs: nothing should move the heap between two snapshots. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("no_such_setting", 1) == -1);
    CHECK(t_hz3()->config_set("scan_seg_budget", -1) == -1);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600001) == -1);
    CHECK(t_hz3()->config_get("epoch_interval_ms") == 0);
    run(case_unwritten_headers);   /* first: it needs segments no case has used */
    run(case_every_other);
    run(case_remote_emptied);
    run(case_pinned);
    run(case_medium);
    run(case_singles);
    CHECK(t_hz3()->validate() == 0);
    ground_truth();
    return t_finish("test-census");
}
