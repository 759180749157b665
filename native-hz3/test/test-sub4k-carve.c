/*
 * test-sub4k-carve.c: a sub4k span (1025-3584 B, 16 blocks in 5-14 pages)
 * is carved a few blocks at a time (2, then as many as it holds: 4, 8, 16),
 * so that a class a thread uses for one or two objects writes the pages of
 * those blocks, not all of its span's (glibc_thread: seven sub4k classes per
 * thread, a few live objects in all, had 60-odd pages written). The free
 * paths then check a block against the span's carved count: a block start
 * not carved yet was never handed out, and its free, from the owner or
 * another thread, is refused as not a live object.
 *
 * Class 3584 B: 16 blocks in 14 pages. On a new thread's first span of it,
 * taken from pages no span wrote before, one malloc leaves at most 2 of the
 * 14 pages resident (a build that carves whole spans writes all 14), three
 * leave at most 4; the 16 mallocs fill the span in address order, the census
 * counts them, and the invariant walker finds nothing wrong.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define SIZE 3584
#define BLOCKS 16
#define PAGES 14

static void *carve(void *arg)
{
    char *v[BLOCKS];
    v[0] = malloc(SIZE);
    CHECK_MSG(((uintptr_t)v[0] & 4095) == 0, "%p: not the first block of a new span", (void *)v[0]);
    long r = t_resident_pages(v[0], PAGES * 4096);
    CHECK_MSG(r >= 1 && r <= 2, "one malloc of a new span: %ld of %d pages resident", r, PAGES);
    v[1] = malloc(SIZE);
    v[2] = malloc(SIZE);
    r = t_resident_pages(v[0], PAGES * 4096);
    CHECK_MSG(r >= 1 && r <= 4, "three mallocs of a new span: %ld of %d pages resident", r, PAGES);

    /* Blocks 0-3 are carved, block 3 not handed out (free, keyed): a free
     * of it is a double free; block 4 is not carved. */
    CHECK(t_free_aborts(v[0] + 3 * SIZE));
    CHECK(t_free_aborts(v[0] + 4 * SIZE));
    CHECK(t_remote_free_aborts(v[0] + 4 * SIZE));
    CHECK(t_remote_free_aborts(v[0] + 9 * SIZE));

    for (int i = 3; i < BLOCKS; i++) v[i] = malloc(SIZE);
    int in_order = 0;
    for (int i = 0; i < BLOCKS; i++) {
        in_order += v[i] == v[0] + (size_t)i * SIZE;
        memset(v[i], i, SIZE);
    }
    CHECK_MSG(in_order == BLOCKS, "%d of %d blocks in the span's address order", in_order, BLOCKS);
    CHECK(t_resident_pages(v[0], PAGES * 4096) == PAGES);

    static struct hz3_snapshot snap;
    t_snapshot(&snap);
    int c = t_class_of(&snap, SIZE);
    CHECK(c >= 0);
    if (c >= 0) CHECK_MSG(snap.classes[c].live_objects >= BLOCKS, "census: %llu live of class %d B",
                          (unsigned long long)snap.classes[c].live_objects, SIZE);
    CHECK(t_hz3()->validate() == 0);

    /* freed out of order, the blocks come back in the next mallocs */
    for (int i = BLOCKS; i-- > 0;) free(v[i]);
    void *again[BLOCKS];
    int reused = 0;
    for (int i = 0; i < BLOCKS; i++) {
        again[i] = malloc(SIZE);
        reused += (char *)again[i] >= v[0] && (char *)again[i] < v[0] + PAGES * 4096;
    }
    CHECK_MSG(reused == BLOCKS, "%d of %d mallocs after the frees reused the span", reused, BLOCKS);
    for (int i = 0; i < BLOCKS; i++) free(again[i]);
    CHECK(t_hz3()->validate() == 0);
    return arg;
}

int main(void)
{
    t_hz3();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, carve, NULL) == 0);
    pthread_join(t, NULL);
    return t_finish("test-sub4k-carve");
}
