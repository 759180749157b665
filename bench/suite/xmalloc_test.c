/*
 * xmalloc_test - the shape of xmalloc-test (Lever and Boreham; mimalloc-bench's xmalloc-testN):
 * an asymmetric load where some threads only allocate and others only free. P producer
 * threads malloc small objects, write them and hand them over in batches through one shared
 * bounded queue; P consumer threads take the batches, read the objects and free them, so
 * every free is a cross-thread free and the producers' caches never see their blocks again.
 *
 *   xmalloc_test [PRODUCERS ITERS]     default 2 4000000
 *
 * ITERS objects per producer, sizes uniform in 8..256 B, batches of 64, at most 64 batches
 * queued (a full queue blocks producers on a condition variable, an empty one consumers).
 */
#include "suite.h"

#define BATCH 64
#define QUEUE 64
#define MIN_SIZE 8
#define MAX_SIZE 256

typedef struct {
    void *obj[BATCH];
    unsigned n;
} batch;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    batch slot[QUEUE];
    unsigned head, count, producers_left;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {{{0}, 0}}, 0, 0, 0};

typedef struct {
    uint64_t iters;
    unsigned idx;
    int producer;
    uint64_t checksum;
} worker;

static void put(const batch *b)
{
    pthread_mutex_lock(&q.lock);
    while (q.count == QUEUE)
        pthread_cond_wait(&q.not_full, &q.lock);
    q.slot[(q.head + q.count++) % QUEUE] = *b;
    pthread_cond_signal(&q.not_empty);
    pthread_mutex_unlock(&q.lock);
}

/* Takes a batch into *b; returns 0 once the queue is empty and every producer is done. */
static int take(batch *b)
{
    pthread_mutex_lock(&q.lock);
    while (q.count == 0 && q.producers_left > 0)
        pthread_cond_wait(&q.not_empty, &q.lock);
    int got = q.count > 0;
    if (got) {
        *b = q.slot[q.head];
        q.head = (q.head + 1) % QUEUE;
        q.count--;
        pthread_cond_signal(&q.not_full);
    }
    pthread_mutex_unlock(&q.lock);
    return got;
}

static void *work(void *a)
{
    worker *w = a;
    batch b = {{0}, 0};
    if (w->producer) {
        bench_rng r = {bench_thread_seed(0x12345678, w->idx)};
        for (uint64_t i = 0; i < w->iters; i++) {
            size_t size = MIN_SIZE + bench_below((uint32_t)(bench_rng_next(&r) >> 32), MAX_SIZE - MIN_SIZE + 1);
            uint64_t *p = suite_malloc(size);
            *p = i;
            b.obj[b.n++] = p;
            if (b.n == BATCH || i + 1 == w->iters) {
                put(&b);
                b.n = 0;
            }
        }
        pthread_mutex_lock(&q.lock);
        if (--q.producers_left == 0)
            pthread_cond_broadcast(&q.not_empty); /* wake consumers to see the end */
        pthread_mutex_unlock(&q.lock);
    } else {
        while (take(&b))
            for (unsigned i = 0; i < b.n; i++) {
                w->checksum += *(uint64_t *)b.obj[i];
                free(b.obj[i]);
            }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned producers = (unsigned)suite_arg(argc, argv, 1, 2, 1);
    uint64_t iters = suite_arg(argc, argv, 2, 4000000, 1);
    bench_report_malloc();

    q.producers_left = producers;
    worker *workers = suite_malloc(2 * producers * sizeof *workers);
    for (unsigned t = 0; t < 2 * producers; t++)
        workers[t] = (worker){.iters = iters, .idx = t, .producer = t % 2 == 0};
    double secs = suite_run_threads(2 * producers, work, workers, sizeof *workers);
    uint64_t sum = 0;
    for (unsigned t = 0; t < 2 * producers; t++)
        sum += workers[t].checksum;
    uint64_t want = producers * (iters * (iters - 1) / 2);
    free(workers);
    if (sum != want) {
        fprintf(stderr, "xmalloc_test: consumers saw checksum %" PRIu64 ", expected %" PRIu64 "\n", sum, want);
        return 5;
    }
    printf("RESULT bench=xmalloc_test threads=%u iters=%" PRIu64 " secs=%.6f\n", 2 * producers, iters, secs);
    return 0;
}
