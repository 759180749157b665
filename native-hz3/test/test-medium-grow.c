/*
 * test-medium-grow.c: a heap record remembers how many blocks of a shared
 * medium class (4-16 KiB) its last thread's current span carved, and the
 * next thread on it starts with spans of about that many (at least 2),
 * doubling with each span it takes, up to the class's capacity. Threads
 * that come and go holding one or two objects of a class then take 2-4
 * pages of address for them, not 16-32, which the spans of later threads
 * would find written and resident (bench/RESULTS.md, 2026-12-03
 * (afternoon): mstress). A record never used gives full spans.
 *
 * Class of 8 KiB (capacity 16, 32 pages). A first thread on a new record
 * keeps 2 objects (one full-length span) and ends; the second thread, on
 * the same record, keeps 30: spans of 2, 4, 8 and 16 blocks, 60 pages, the
 * census counting each span with its own capacity; the two blocks of its
 * first span, freed after the rest filled, are its next two mallocs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define SIZE 8192
#define N 30

static struct hz3_snapshot snap;
static const struct hz3_class_census *in_thread;

/* v[0] and v[1] filled the thread's first span, of 2 blocks, which went
 * on its full list when the next span was taken; the last one is full
 * too. Freed, they bring their span back to avail (a short span rejoins
 * at a quarter of its own capacity, here its first free block), and the
 * next two mallocs find them there rather than taking a new span. */
static void reuse_first_span(void **v)
{
    void *a = v[0], *b = v[1];
    free(a);
    free(b);
    v[0] = malloc(SIZE);
    v[1] = malloc(SIZE);
    CHECK_MSG((v[0] == a || v[0] == b) && (v[1] == a || v[1] == b) && v[0] != v[1],
              "the freed blocks of a full short span were not reused: %p %p after freeing %p %p", v[0], v[1], a, b);
}

static void *hold(void *arg)
{
    void *v[N];
    int n = arg ? *(int *)arg : N;
    for (int i = 0; i < n; i++) {
        v[i] = malloc(SIZE);
        if (v[i]) memset(v[i], i, SIZE);
    }
    t_snapshot(&snap);
    int c = t_class_of(&snap, SIZE);
    in_thread = c >= 0 ? &snap.classes[c] : NULL;
    if (!arg) reuse_first_span(v);
    for (int i = 0; i < n; i++) free(v[i]);
    return arg;
}

static void pages_and_spans(const char *which, uint64_t live, uint64_t spans, uint64_t capacity, uint64_t want_pages)
{
    CHECK(in_thread != NULL);
    if (!in_thread) return;
    const struct hz3_class_census *c = in_thread;
    uint64_t pages = 0;
    for (int k = 0; k < HZ3_PS_COUNT; k++) pages += c->pages[k];
    CHECK_MSG(c->spans == spans && c->capacity_objects == capacity && pages == want_pages,
              "%s: class %u B: %llu spans, capacity %llu, %llu pages (want %llu, %llu, %llu)", which, c->object_size,
              (unsigned long long)c->spans, (unsigned long long)c->capacity_objects, (unsigned long long)pages,
              (unsigned long long)spans, (unsigned long long)capacity, (unsigned long long)want_pages);
    CHECK_MSG(c->live_objects == live, "%s: live %llu", which, (unsigned long long)c->live_objects);
    CHECK(c->tail_waste_bytes == 0);
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    pthread_t t;
    int two = 2;
    CHECK(pthread_create(&t, NULL, hold, &two) == 0);
    pthread_join(t, NULL);
    pages_and_spans("a new heap record", 2, 1, 16, 32);
    in_thread = NULL;
    CHECK(pthread_create(&t, NULL, hold, NULL) == 0);
    pthread_join(t, NULL);
    pages_and_spans("the record of a thread that kept 2", N, 4, 2 + 4 + 8 + 16, (2 + 4 + 8 + 16) * SIZE / 4096);
    CHECK(hz->validate() == 0);
    return t_finish("test-medium-grow");
}
