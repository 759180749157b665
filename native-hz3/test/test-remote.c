/*
 * test-remote.c: frees from a thread that does not own the span wait in
 * that thread's remote batch. Until the batch is pushed they count as live
 * (include/hz3.h), so no census calls their span empty and no purge gives
 * it back; once the thread ends they are free, and the span with them.
 *
 * The objects: 64 of 1024 B made by this thread, in spans of 16 (4 pages).
 * The first 16, made first, fill one span (checked from their addresses);
 * another thread frees exactly those and parks, its batch unpushed.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { N = 64, SIZE = 1024, SPAN_OBJECTS = 16 };
static void *obj[N];
static pthread_barrier_t freed, go;

static void *free_first_span_and_park(void *arg)
{
    for (int i = 0; i < SPAN_OBJECTS; i++) free(obj[i]);
    pthread_barrier_wait(&freed);
    pthread_barrier_wait(&go);
    return arg;
}

static uint64_t candidates(const struct hz3_snapshot *s, int c) { return s->classes[c].cand_decommit_pages; }

int main(void)
{
    /* Only the epochs this test asks for. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    static struct hz3_snapshot before, batched, purged, pushed;
    t_snapshot(&before);
    for (int i = 0; i < N; i++) memset(obj[i] = malloc(SIZE), 0x5a, SIZE);
    CHECK(malloc_usable_size(obj[0]) == SIZE);
    uintptr_t lo = (uintptr_t)obj[0], hi = lo;
    for (int i = 1; i < SPAN_OBJECTS; i++) {
        uintptr_t p = (uintptr_t)obj[i];
        if (p < lo) lo = p;
        if (p > hi) hi = p;
    }
    CHECK_MSG(hi - lo == (SPAN_OBJECTS - 1) * SIZE, "the first %d objects are not one span: %#lx..%#lx",
              SPAN_OBJECTS, (unsigned long)lo, (unsigned long)hi);

    pthread_barrier_init(&freed, NULL, 2);
    pthread_barrier_init(&go, NULL, 2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_first_span_and_park, NULL) == 0);
    pthread_barrier_wait(&freed);

    /* Freed, but batched: live for the census, and the span is not empty. */
    t_snapshot(&batched);
    int c = t_class_of(&batched, SIZE);
    CHECK(c >= 0);
    if (c < 0) return t_finish("test-remote");
    uint64_t live0 = before.classes[c].live_objects;
    CHECK_MSG(batched.classes[c].live_objects == live0 + N, "live %llu while batched, expected %llu",
              (unsigned long long)batched.classes[c].live_objects, (unsigned long long)(live0 + N));
    CHECK(candidates(&batched, c) == candidates(&before, c));

    /* A purge now must leave the span: its blocks will still be pushed. */
    t_hz3()->purge_now();
    t_snapshot(&purged);
    CHECK(purged.classes[c].live_objects == live0 + N);
    CHECK(t_hz3()->validate() == 0);

    /* The thread ends and pushes its batch: the 16 are free, their span
     * empty and not this thread's current one, so a purge may take it. */
    pthread_barrier_wait(&go);
    pthread_join(t, NULL);
    t_snapshot(&pushed);
    CHECK_MSG(pushed.classes[c].live_objects == live0 + N - SPAN_OBJECTS, "live %llu after the push, expected %llu",
              (unsigned long long)pushed.classes[c].live_objects,
              (unsigned long long)(live0 + N - SPAN_OBJECTS));
    CHECK_MSG(candidates(&pushed, c) >= candidates(&purged, c) + SPAN_OBJECTS * SIZE / 4096,
              "purge candidates of the class %llu, expected at least %llu more than %llu",
              (unsigned long long)candidates(&pushed, c), (unsigned long long)(SPAN_OBJECTS * SIZE / 4096),
              (unsigned long long)candidates(&purged, c));
    CHECK(t_hz3()->validate() == 0);

    /* Every object is whole and the allocator hands out distinct ones. */
    for (int i = SPAN_OBJECTS; i < N; i++) CHECK(((unsigned char *)obj[i])[SIZE - 1] == 0x5a);
    void *again[N];
    for (int i = 0; i < N; i++) again[i] = malloc(SIZE);
    bool distinct = true;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) distinct &= again[i] != again[j];
    CHECK(distinct);
    for (int i = 0; i < N; i++) free(again[i]);
    for (int i = SPAN_OBJECTS; i < N; i++) free(obj[i]);
    return t_finish("test-remote");
}
