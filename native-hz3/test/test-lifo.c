/*
 * test-lifo.c: a thread's malloc of a small class hands back the block of
 * the class it freed last, before the other free blocks of its span, most
 * recent first (the block cache: src/hz3_hot.h, src/bcache.c). Meanwhile a
 * freed block is free for the census and a second free of it is a double
 * free, also when it is not the latest free.
 *
 * The objects: 20 of 48 B, the first ones of a span of 85 (one page), so
 * that the span still has free blocks never handed out: a malloc that took
 * those first (the span's list) returns none of the blocks freed.
 */
#include <malloc.h>
#include <stdlib.h>
#include "test_util.h"

enum { N = 20, SIZE = 48 };
static void *a[N];

int main(void)
{
    /* Only the epochs this test asks for: an epoch run by this thread
     * sends its cached blocks home. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    static struct hz3_snapshot before, cached;
    t_snapshot(&before);
    int c = t_class_of(&before, SIZE);
    CHECK(c >= 0);
    if (c < 0) return t_finish("test-lifo");
    for (int i = 0; i < N; i++) a[i] = malloc(SIZE);
    bool row = true;
    for (int i = 1; i < N; i++) row &= a[i] == (char *)a[i - 1] + SIZE;
    CHECK_MSG(row, "the %d objects are not one span's, in order", N);

    /* One block: the next malloc returns it. */
    void *freed = a[5];
    free(a[5]);
    a[5] = malloc(SIZE);
    CHECK_MSG(a[5] == freed, "malloc after free(%p) returned %p", freed, a[5]);

    /* Three: back last freed first; a second free of one, not the
     * latest free, is caught meanwhile. */
    free(a[3]);
    free(a[7]);
    free(a[9]);
    CHECK(t_free_aborts(a[3]));
    CHECK(t_free_aborts(a[9]));
    void *p9 = malloc(SIZE), *p7 = malloc(SIZE), *p3 = malloc(SIZE);
    CHECK_MSG(p9 == a[9] && p7 == a[7] && p3 == a[3], "after free(a[3]), free(a[7]), free(a[9]): %p %p %p, expected %p %p %p", p9,
              p7, p3, a[9], a[7], a[3]);
    a[3] = p3;
    a[7] = p7;
    a[9] = p9;

    /* Free for the census while they wait. */
    free(a[3]);
    free(a[7]);
    free(a[9]);
    t_snapshot(&cached);
    CHECK_MSG(cached.classes[c].live_objects == before.classes[c].live_objects + N - 3, "live %llu with 3 freed, expected %llu",
              (unsigned long long)cached.classes[c].live_objects,
              (unsigned long long)(before.classes[c].live_objects + N - 3));
    CHECK(t_free_aborts(a[7]));
    a[3] = a[7] = a[9] = NULL;

    for (int i = 0; i < N; i++) free(a[i]);
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-lifo");
}
