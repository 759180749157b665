/*
 * test-medium-cache.c: a thread's own frees of a shared medium class (4-16
 * KiB) wait in its block cache (src/bcache.c, reached from the fast paths
 * in src/hz3_hot.h), and its next mallocs of the class take them back,
 * most recent first, before the span it allocates from. Meanwhile the
 * census counts them free (not live), their span's pages as if they were
 * live (full: include/hz3.h), a second free of one is a double free, and
 * when the thread ends they go back to their span.
 *
 * Thread D makes a full span of 8 KiB blocks (16) and 4 more (the next
 * span, its current one), frees the first 4 of the full span, and parks.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { SIZE = 8192, SPAN = 16, N = SPAN + 4, FREED = 4 };
static void *obj[N];
static void *again[FREED];
static pthread_barrier_t freed, go;

static void *thread_d(void *arg)
{
    for (int i = 0; i < N; i++) memset(obj[i] = malloc(SIZE), 0x5a, SIZE);
    for (int i = 0; i < FREED; i++) free(obj[i]);
    pthread_barrier_wait(&freed);
    pthread_barrier_wait(&go);
    for (int i = 0; i < FREED; i++) again[i] = malloc(SIZE);
    for (int i = 0; i < FREED; i++) free(again[i]);
    for (int i = FREED; i < N; i++) free(obj[i]);
    return arg;
}

int main(void)
{
    /* Only the epochs this test asks for. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    static struct hz3_snapshot before, cached, ended;
    t_snapshot(&before);
    int c = t_class_of(&before, SIZE);
    CHECK_MSG(c >= 0 && before.classes[c].span_pages * 4096u == SPAN * SIZE, "a class of %d B in spans of %d", SIZE, SPAN);
    if (c < 0) return t_finish("test-medium-cache");

    pthread_barrier_init(&freed, NULL, 2);
    pthread_barrier_init(&go, NULL, 2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_d, NULL) == 0);
    pthread_barrier_wait(&freed);
    bool one_span = (uintptr_t)obj[0] % 4096 == 0;
    for (int i = 1; i < SPAN; i++) one_span &= obj[i] == (char *)obj[0] + (size_t)i * SIZE;
    CHECK_MSG(one_span, "D's first %d objects are not one span", SPAN);

    t_snapshot(&cached);
    uint64_t live0 = before.classes[c].live_objects;
    CHECK_MSG(cached.classes[c].live_objects == live0 + N - FREED, "live %llu with D's frees cached, expected %llu",
              (unsigned long long)cached.classes[c].live_objects, (unsigned long long)(live0 + N - FREED));
    /* the full span stays full while its freed blocks are cached */
    CHECK_MSG(cached.classes[c].pages[HZ3_PS_FULL] - before.classes[c].pages[HZ3_PS_FULL] == SPAN * SIZE / 4096,
              "full pages +%llu, expected +%d", (unsigned long long)(cached.classes[c].pages[HZ3_PS_FULL] - before.classes[c].pages[HZ3_PS_FULL]),
              SPAN * SIZE / 4096);
    CHECK(t_free_aborts(obj[0]));
    CHECK(t_free_aborts(obj[FREED - 1]));
    CHECK(t_hz3()->validate() == 0);

    pthread_barrier_wait(&go);
    pthread_join(t, NULL);
    int in_order = 0;
    for (int i = 0; i < FREED; i++) in_order += again[i] == obj[FREED - 1 - i];
    CHECK_MSG(in_order == FREED, "%d of D's %d next mallocs took back its freed blocks, most recent first", in_order, FREED);
    t_snapshot(&ended);
    CHECK_MSG(ended.classes[c].live_objects == live0, "live %llu after D ended, expected %llu",
              (unsigned long long)ended.classes[c].live_objects, (unsigned long long)live0);
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-medium-cache");
}
