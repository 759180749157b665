/*
 * test-bcache.c: a thread that frees blocks another thread made keeps them
 * in its block cache of their class (src/bcache.c) and its own mallocs of
 * the class take them back, most recent first, once its span runs dry.
 * Meanwhile they are free for the census (not live) and a second free of
 * one is a double free; when the thread ends they go back to their spans,
 * which are then empty.
 *
 * The objects: 64 of 1024 B made by this thread (spans of 16, 4 pages);
 * thread B, which allocates the class itself, frees the first 32 (two
 * whole spans: checked from their addresses).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { N = 64, SIZE = 1024, FREED = 32, SPAN_OBJECTS = 16, TRIES = 1000 };
static void *obj[N];
static pthread_barrier_t freed, go, reused, done;
static int first_hit = -1, in_order = 0, own_before_hit = 0;
static bool back[FREED];   /* obj[i] came back to B */

static void *thread_b(void *arg)
{
    void *own[TRIES + FREED];
    int n_own = 0;
    own[n_own++] = malloc(SIZE);   /* its first malloc of the class: it caches the class from now */
    for (int i = 0; i < FREED; i++) free(obj[i]);
    pthread_barrier_wait(&freed);
    pthread_barrier_wait(&go);
    /* Its own span first; then, dry, the cache: obj[FREED-1] down to obj[0]. */
    void *p = NULL;
    while (n_own < TRIES) {
        p = malloc(SIZE);
        int hit = -1;
        for (int i = 0; i < FREED; i++)
            if (p == obj[i]) hit = i;
        if (hit >= 0) {
            first_hit = hit;
            back[hit] = true;
            break;
        }
        own[n_own++] = p;
    }
    own_before_hit = n_own;
    if (first_hit == FREED - 1) {
        in_order = 1;
        for (int i = FREED - 2; i >= 0; i--) {
            p = malloc(SIZE);
            back[i] = p == obj[i];
            in_order += back[i];
            if (!back[i]) own[n_own++] = p;
        }
    }
    /* Freed again: cached again, and the thread's end sends them home. */
    for (int i = 0; i < FREED; i++)
        if (back[i]) free(obj[i]);
    for (int i = 0; i < n_own; i++) free(own[i]);
    pthread_barrier_wait(&reused);
    pthread_barrier_wait(&done);
    return arg;
}

/* The owner's own frees of a small class: into its block cache too while
 * it has room (src/hz3_hot.h; past it they wait in their span until a
 * quarter of it is free, and then it rejoins avail: span.c, size_class.c).
 * Thread C makes 3 spans of 256 B blocks (16 a span) and frees a quarter
 * of the first, then parks: the census (from this thread) counts them
 * free, a second free of one is caught, and C's own mallocs take them
 * back. */
enum { LSIZE = 256, LCAP = 16, LN = 3 * LCAP, LQ = LCAP / 4 };
static void *lobj[LN];
static int l_back = 0;
static pthread_barrier_t l_freed, l_go;

static void *thread_c(void *arg)
{
    for (int i = 0; i < LN; i++) lobj[i] = malloc(LSIZE);
    for (int i = 0; i < LQ; i++) free(lobj[i]);
    pthread_barrier_wait(&l_freed);
    pthread_barrier_wait(&l_go);
    void *got[LCAP + LQ];
    int n = 0;
    for (; n < LCAP + LQ; n++) {
        got[n] = malloc(LSIZE);
        for (int i = 0; i < LQ; i++) l_back += got[n] == lobj[i];
    }
    for (int i = 0; i < n; i++) free(got[i]);
    for (int i = LQ; i < LN; i++) free(lobj[i]);
    return arg;
}

static void local_case(void)
{
    static struct hz3_snapshot s0, s1, s2;
    t_snapshot(&s0);
    int c = t_class_of(&s0, LSIZE);
    CHECK(c >= 0);
    if (c < 0) return;
    pthread_barrier_init(&l_freed, NULL, 2);
    pthread_barrier_init(&l_go, NULL, 2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_c, NULL) == 0);
    pthread_barrier_wait(&l_freed);
    bool rows = true;
    for (int i = 0; i < LCAP; i++) rows &= lobj[i] == (char *)lobj[0] + (size_t)i * LSIZE;
    CHECK_MSG(rows, "C's first %d objects are not one span", LCAP);
    t_snapshot(&s1);
    CHECK_MSG(s1.classes[c].live_objects == s0.classes[c].live_objects + LN - LQ, "live %llu with C's frees cached, expected %llu",
              (unsigned long long)s1.classes[c].live_objects, (unsigned long long)(s0.classes[c].live_objects + LN - LQ));
    CHECK(t_free_aborts(lobj[0]));
    CHECK(t_free_aborts(lobj[LQ - 1]));
    CHECK(t_hz3()->validate() == 0);
    pthread_barrier_wait(&l_go);
    pthread_join(t, NULL);
    CHECK_MSG(l_back == LQ, "C's mallocs took back %d of its %d freed blocks", l_back, LQ);
    t_snapshot(&s2);
    CHECK(s2.classes[c].live_objects == s0.classes[c].live_objects);
    CHECK(t_hz3()->validate() == 0);
}

int main(void)
{
    /* Only the epochs this test asks for. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    static struct hz3_snapshot before, cached, purged, ended;
    t_snapshot(&before);
    for (int i = 0; i < N; i++) memset(obj[i] = malloc(SIZE), 0x5a, SIZE);
    CHECK(malloc_usable_size(obj[0]) == SIZE);
    for (int k = 0; k < FREED / SPAN_OBJECTS; k++) {
        uintptr_t lo = (uintptr_t)obj[k * SPAN_OBJECTS], hi = lo;
        for (int i = k * SPAN_OBJECTS; i < (k + 1) * SPAN_OBJECTS; i++) {
            uintptr_t p = (uintptr_t)obj[i];
            if (p < lo) lo = p;
            if (p > hi) hi = p;
        }
        CHECK_MSG(hi - lo == (SPAN_OBJECTS - 1) * SIZE, "objects %d.. are not one span", k * SPAN_OBJECTS);
    }

    pthread_barrier_init(&freed, NULL, 2);
    pthread_barrier_init(&go, NULL, 2);
    pthread_barrier_init(&reused, NULL, 2);
    pthread_barrier_init(&done, NULL, 2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_b, NULL) == 0);
    pthread_barrier_wait(&freed);

    /* Cached in B: not live (B's own first object is). */
    t_snapshot(&cached);
    int c = t_class_of(&cached, SIZE);
    CHECK(c >= 0);
    if (c < 0) return t_finish("test-bcache");
    uint64_t live0 = before.classes[c].live_objects;
    CHECK_MSG(cached.classes[c].live_objects == live0 + N - FREED + 1, "live %llu while cached, expected %llu",
              (unsigned long long)cached.classes[c].live_objects, (unsigned long long)(live0 + N - FREED + 1));
    CHECK(t_free_aborts(obj[0]));
    CHECK(t_free_aborts(obj[FREED - 1]));

    /* A purge leaves the spans: their blocks are still counted in them. */
    t_hz3()->purge_now();
    t_snapshot(&purged);
    CHECK(purged.classes[c].live_objects == live0 + N - FREED + 1);
    CHECK(t_hz3()->validate() == 0);

    /* B's mallocs take them back, most recent first. */
    pthread_barrier_wait(&go);
    pthread_barrier_wait(&reused);
    CHECK_MSG(first_hit == FREED - 1, "B's first block of this thread's was obj[%d] after %d of its own, expected obj[%d]",
              first_hit, own_before_hit, FREED - 1);
    CHECK_MSG(in_order == FREED, "%d of the %d cached blocks came back in LIFO order", in_order, FREED);

    /* B ends: every cached block goes home, the two spans are empty and
     * not this thread's current one, so a purge may take them. */
    pthread_barrier_wait(&done);
    pthread_join(t, NULL);
    t_snapshot(&ended);
    CHECK_MSG(ended.classes[c].live_objects == live0 + N - FREED, "live %llu after B ended, expected %llu",
              (unsigned long long)ended.classes[c].live_objects, (unsigned long long)(live0 + N - FREED));
    CHECK_MSG(ended.classes[c].cand_decommit_pages >= purged.classes[c].cand_decommit_pages + FREED * SIZE / 4096,
              "purge candidates of the class %llu, expected at least %llu more than %llu",
              (unsigned long long)ended.classes[c].cand_decommit_pages, (unsigned long long)(FREED * SIZE / 4096),
              (unsigned long long)purged.classes[c].cand_decommit_pages);
    CHECK(t_hz3()->validate() == 0);

    for (int i = FREED; i < N; i++) CHECK(((unsigned char *)obj[i])[SIZE - 1] == 0x5a);
    for (int i = FREED; i < N; i++) free(obj[i]);
    local_case();
    return t_finish("test-bcache");
}
