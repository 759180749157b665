/*
 * test-refill-order.c: a span that comes back for refill holding blocks
 * its owner freed (local_free) and blocks other threads freed (thread_free)
 * hands out the owner's first (src/span.c, refill): they are lines its own
 * cache holds, and the other threads' chain then joins an empty local_free
 * without a walk to its tail, one cache miss per block, which was two
 * thirds of rptest's allocation slow path.
 *
 * A fills span S of the 256 B class (16 blocks, one page), and the next malloc sends
 * S to the full list. A frees FILL blocks of other spans, so that its block
 * cache of the class is full. B frees four blocks of S and ends: its batch
 * goes onto S's thread_free. A frees four others of S: they go onto
 * local_free, past its full cache, and S rejoins the avail list. A then
 * allocates until it gets a block of S: the first one is one it freed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { SIZE = 256, CAP = 16, FILL = 200 /* more than any cache holds: HZ3_BCACHE_MAX */, MAX_TAKE = 2048 };

static void *fill[FILL], *s_blocks[CAP], *taken[MAX_TAKE], *held[MAX_TAKE];
static void *first_of_s;
static unsigned n_taken;

static bool in(void *p, void *const *set, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (set[i] == p) return true;
    return false;
}

static void *thread_b(void *arg)
{
    for (unsigned i = CAP / 2; i < CAP / 2 + 4; i++) free(s_blocks[i]);
    return arg;
}

static void *thread_a(void *arg)
{
    for (unsigned i = 0; i < FILL; i++) memset(fill[i] = malloc(SIZE), 1, SIZE);
    /* S: the blocks of one fresh span, in address order */
    void *p;
    unsigned n = 0;
    while (n < CAP && n_taken < MAX_TAKE) {
        p = taken[n_taken++] = malloc(SIZE);
        if (n && (uintptr_t)p != (uintptr_t)s_blocks[n - 1] + SIZE) n = 0;
        if (n == 0 && ((uintptr_t)p & 4095)) continue;   /* a span starts on a page */
        s_blocks[n++] = p;
    }
    CHECK_MSG(n == CAP, "no span of %d blocks of %d B found", CAP, SIZE);
    if (n < CAP) return arg;
    void *next = malloc(SIZE);   /* S ran dry: onto the full list */
    for (unsigned i = 0; i < FILL; i++) free(fill[i]);   /* the cache fills */
    pthread_t b;
    CHECK(pthread_create(&b, NULL, thread_b, NULL) == 0);
    pthread_join(b, NULL);   /* its batch went home */
    for (unsigned i = 0; i < 4; i++) free(s_blocks[i]);   /* past the full cache: local_free; S rejoins */
    /* the cache's blocks, the current span's, then S from avail */
    unsigned n_held = 0;
    while (n_held < MAX_TAKE) {
        p = held[n_held++] = malloc(SIZE);
        if (in(p, s_blocks, CAP)) {
            first_of_s = p;
            break;
        }
    }
    /* everything back: what it holds (first_of_s among it), S's blocks
     * no thread freed, and the rest of what it made */
    for (unsigned i = 0; i < n_held; i++) free(held[i]);
    for (unsigned i = 0; i < n_taken; i++)
        if (!in(taken[i], s_blocks, CAP)) free(taken[i]);
    for (unsigned i = 4; i < CAP; i++)
        if ((i < CAP / 2 || i >= CAP / 2 + 4) && s_blocks[i] != first_of_s) free(s_blocks[i]);
    free(next);
    return arg;
}

int main(void)
{
    t_quiet_threads();
    pthread_t a;
    CHECK(pthread_create(&a, NULL, thread_a, NULL) == 0);
    pthread_join(a, NULL);
    CHECK_MSG(first_of_s != NULL, "no block of S came back");
    CHECK_MSG(in(first_of_s, s_blocks, 4), "the first block of S handed out was %s",
              in(first_of_s, s_blocks + CAP / 2, 4) ? "one another thread freed" : "neither");
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-refill-order");
}
