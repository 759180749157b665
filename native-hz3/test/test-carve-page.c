/*
 * test-carve-page.c: the pages of a lazily carved class (sub4k, shared
 * medium) that hold a block start not carved yet carry a tag whose class
 * refuses every free (hz3_types.h, "Page tags"), and a carve goes on to the
 * end of the page its last block starts on (span.c, extend), so that no
 * carved block starts on such a page. The free of a block not carved is
 * reported, from its owner and from another thread; a carved one is freed
 * by either, into the freeing thread's block cache (a free sent to the
 * generic path would not come back from the cache); a double free is found.
 *
 * Class 1280 B: blocks 0-3 start on a span's first page, 4-6 on the
 * second. A new thread's first span carves blocks 0-3 at its first malloc.
 */
#include <pthread.h>
#include <stdlib.h>
#include "test_util.h"

#define SIZE 1280

static char *cached;

static void *free_malloc(void *p)
{
    void *own = malloc(SIZE);   /* the class's first slow path arms its cache */
    free(p);
    cached = malloc(SIZE);   /* the cache's newest block */
    free(own);
    return NULL;
}

static void *owner(void *arg)
{
    char *b0 = malloc(SIZE), *b1 = malloc(SIZE);
    CHECK_MSG(((uintptr_t)b0 & 4095) == 0, "%p: not the first block of a new span", (void *)b0);
    CHECK_MSG(b1 == b0 + SIZE, "%p, %p: not the span's first two blocks", (void *)b0, (void *)b1);

    /* carved and free: a double free; never carved: not live */
    CHECK(t_free_aborts(b0 + 3 * SIZE));
    CHECK(t_free_aborts(b0 + 4 * SIZE));
    CHECK(t_free_aborts(b0 + 6 * SIZE));
    CHECK(t_remote_free_aborts(b0 + 5 * SIZE));
    CHECK(!t_remote_free_aborts(b1));
    CHECK(t_hz3()->validate() == 0);

    /* the last block of the first page: from another thread into its cache */
    char *b2 = malloc(SIZE), *b3 = malloc(SIZE);
    CHECK_MSG(b2 == b0 + 2 * SIZE && b3 == b0 + 3 * SIZE, "%p, %p: not blocks 2 and 3", (void *)b2, (void *)b3);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_malloc, b3) == 0);
    pthread_join(t, NULL);
    CHECK_MSG(cached == b3, "%p freed by another thread, %p its next malloc", (void *)b3, (void *)cached);
    free(cached);
    free(b1);
    free(b0);
    free(b2);
    CHECK(t_free_aborts(b0));
    CHECK(t_free_aborts(b2));
    CHECK(t_hz3()->validate() == 0);

    /* carving on: the second page's blocks, then freed */
    char *v[7];
    for (int i = 0; i < 7; i++) v[i] = malloc(SIZE);
    int on_span = 0;
    for (int i = 0; i < 7; i++) on_span += v[i] >= b0 && v[i] < b0 + 7 * SIZE;
    CHECK_MSG(on_span == 7, "%d of 7 mallocs on the span's first 7 blocks", on_span);
    CHECK(t_hz3()->validate() == 0);
    for (int i = 0; i < 7; i++) free(v[i]);
    CHECK(t_free_aborts(v[5]));
    CHECK(t_hz3()->validate() == 0);
    return arg;
}

int main(void)
{
    t_hz3();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, owner, NULL) == 0);
    pthread_join(t, NULL);
    return t_finish("test-carve-page");
}
