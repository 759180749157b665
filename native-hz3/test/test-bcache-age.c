/*
 * test-bcache-age.c: a thread's block cache outlives the aging of its
 * remote batch. The batch is pushed on the thread's 64th allocation slow
 * path at the latest (hz3_types.h, HZ3_REMOTE_BATCH_AGE); the cache goes
 * home only on epochs, decay and the thread's end (src/bcache.c). A
 * server whose frees come from other threads (larson) used to lose its
 * cache with every aged batch, and paid for the owners' spans to take the
 * blocks back and for its own mallocs to go to its spans' slow path.
 *
 * Thread B allocates the 1024 B class (so it caches it), frees 8 objects
 * of this thread's into its cache and one 48 B object, of a class it never
 * allocated, into its batch; then makes BIG objects of 2 KiB, many more
 * than 64 spans' worth, each span's first malloc a slow path. Its next
 * mallocs of 1024 B, once its own span runs dry, must be the 8 objects.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { SIZE = 1024, CACHED = 8, OTHER = 48, BIG_SIZE = 2048, BIG = 4096, TRIES = 64 };
static void *obj[CACHED], *other;
static void *big[BIG];
static int back = 0, tried = 0;

static void *thread_b(void *arg)
{
    void *own[TRIES + 1];
    int n_own = 0;
    own[n_own++] = malloc(SIZE);   /* its first malloc of the class: it caches the class from now */
    free(other);                   /* into the batch: B never allocates 48 B */
    for (int i = 0; i < CACHED; i++) free(obj[i]);
    for (int i = 0; i < BIG; i++) big[i] = malloc(BIG_SIZE);
    /* Its own span's blocks first, then the cache, most recent first. */
    while (back < CACHED && tried < TRIES) {
        void *p = malloc(SIZE);
        tried++;
        bool hit = false;
        for (int i = 0; i < CACHED; i++) hit |= p == obj[i];
        if (hit) back++;
        else own[n_own++] = p;
    }
    for (int i = 0; i < n_own; i++) free(own[i]);
    for (int i = 0; i < BIG; i++) free(big[i]);
    return arg;
}

int main(void)
{
    /* No timer epoch or purge: they would send the cache home, rightly. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    for (int i = 0; i < CACHED; i++) memset(obj[i] = malloc(SIZE), 0x5a, SIZE);
    memset(other = malloc(OTHER), 0x5a, OTHER);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_b, NULL) == 0);
    pthread_join(t, NULL);
    CHECK_MSG(back == CACHED, "B's mallocs took back %d of the %d blocks it cached, in %d tries, after %d mallocs of %d B",
              back, CACHED, tried, BIG, BIG_SIZE);
    CHECK(t_hz3()->validate() == 0);
    return t_finish("test-bcache-age");
}
