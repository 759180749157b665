/*
 * rptest - the shape of rpmalloc's benchmark (mimalloc-bench's rptestN): every thread, loop
 * after loop, allocates a batch of blocks of random sizes, frees most of them in a random
 * order and passes the rest to the next thread (in a ring), which frees them; so blocks
 * die young, out of order, and some of them on another thread.
 *
 *   rptest [THREADS LOOPS]     default 4 1500
 *
 * Batches of 512 blocks, sizes log-uniform in 16 B-16 KiB (half of them under 512 B); the
 * first word of each is written at malloc and read at free. 64 blocks per batch (1 in 8) go
 * to the next thread's inbox, which holds up to 8 such handfuls; a thread whose neighbour's
 * inbox is full empties its own meanwhile, so the ring cannot stall.
 */
#include "suite.h"

#define BATCH 512
#define CROSS 64
#define INBOX 8
#define MIN_SIZE 16
#define MAX_SIZE 16384

typedef struct {
    pthread_mutex_t lock;
    unsigned count;
    uint64_t *blocks[INBOX][CROSS];
} inbox;

typedef struct {
    uint64_t loops;
    unsigned idx, threads;
    inbox *boxes;
    uint64_t checksum;
} worker;

static atomic_uint done_posting;

static int post(inbox *to, uint64_t **blocks)
{
    pthread_mutex_lock(&to->lock);
    int ok = to->count < INBOX;
    if (ok)
        memcpy(to->blocks[to->count++], blocks, CROSS * sizeof *blocks);
    pthread_mutex_unlock(&to->lock);
    return ok;
}

static uint64_t drain(inbox *box)
{
    uint64_t *got[INBOX][CROSS];
    pthread_mutex_lock(&box->lock);
    unsigned n = box->count;
    memcpy(got, box->blocks, n * sizeof got[0]);
    box->count = 0;
    pthread_mutex_unlock(&box->lock);
    uint64_t sum = 0;
    for (unsigned b = 0; b < n; b++)
        for (unsigned i = 0; i < CROSS; i++) {
            sum += *got[b][i];
            free(got[b][i]);
        }
    return sum;
}

static void *work(void *a)
{
    worker *w = a;
    bench_rng r = {bench_thread_seed(0x12345678, w->idx)};
    inbox *mine = &w->boxes[w->idx], *next = &w->boxes[(w->idx + 1) % w->threads];
    uint64_t *blocks[BATCH];
    for (uint64_t loop = 0; loop < w->loops; loop++) {
        for (unsigned i = 0; i < BATCH; i++) {
            blocks[i] = suite_malloc(suite_log_uniform(&r, MIN_SIZE, MAX_SIZE));
            *blocks[i] = i;
        }
        for (unsigned i = BATCH - 1; i > 0; i--) { /* Fisher-Yates: a random free order */
            unsigned j = bench_below((uint32_t)bench_rng_next(&r), i + 1);
            uint64_t *t = blocks[i];
            blocks[i] = blocks[j];
            blocks[j] = t;
        }
        while (!post(next, blocks)) {
            w->checksum += drain(mine);
            sched_yield();
        }
        for (unsigned i = CROSS; i < BATCH; i++) {
            w->checksum += *blocks[i];
            free(blocks[i]);
        }
        w->checksum += drain(mine);
    }
    atomic_fetch_add(&done_posting, 1);
    while (atomic_load(&done_posting) < w->threads) {
        w->checksum += drain(mine);
        sched_yield();
    }
    w->checksum += drain(mine);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned threads = (unsigned)suite_arg(argc, argv, 1, 4, 1);
    uint64_t loops = suite_arg(argc, argv, 2, 1500, 1);
    bench_report_malloc();

    inbox *boxes = suite_malloc(threads * sizeof *boxes);
    worker *workers = suite_malloc(threads * sizeof *workers);
    for (unsigned t = 0; t < threads; t++) {
        pthread_mutex_init(&boxes[t].lock, NULL);
        boxes[t].count = 0;
        workers[t] = (worker){.loops = loops, .idx = t, .threads = threads, .boxes = boxes};
    }
    double secs = suite_run_threads(threads, work, workers, sizeof *workers);
    uint64_t sum = 0;
    for (unsigned t = 0; t < threads; t++)
        sum += workers[t].checksum;
    uint64_t want = threads * loops * (BATCH * (BATCH - 1) / 2);
    free(workers);
    free(boxes);
    if (sum != want) {
        fprintf(stderr, "rptest: blocks read back sum to %" PRIu64 ", expected %" PRIu64 "\n", sum, want);
        return 5;
    }
    printf("RESULT bench=rptest threads=%u loops=%" PRIu64 " secs=%.6f\n", threads, loops, secs);
    return 0;
}
