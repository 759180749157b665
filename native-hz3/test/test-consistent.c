/*
 * test-consistent.c: every snapshot says how many pages changed hands
 * while it ran and whether it is consistent (at most 1% of the pages it
 * counted). A budgeted sweep (one segment per epoch here, so a sweep spans
 * as many epochs as there are segments) over a heap that nobody changes
 * moved nothing and is consistent; the same sweep while this thread takes
 * and gives back runs between its epochs counts at least one round of
 * them and is not; an exact census is. Sweeps reach the test
 * through the listener, on hz3's maintenance thread; the test drives the
 * epochs itself (hz3_epoch_force) and waits for their events on a
 * condition variable.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint64_t seen_epoch;
static struct hz3_snapshot last_sweep;
static uint64_t sweeps;

static void listener(void *ctx, int kind, const void *data)
{
    pthread_mutex_lock(&lock);
    if (kind == HZ3_EVENT_EPOCH) {
        const struct hz3_epoch_info *e = data;
        if (e->seq > seen_epoch) seen_epoch = e->seq;
    } else if (kind == HZ3_EVENT_SNAPSHOT) {
        memcpy(&last_sweep, data, sizeof last_sweep);
        sweeps++;
    }
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

/* Forces an epoch and waits until the listener has seen it (and so every
 * sweep completed by an earlier epoch: a batch ends with its snapshot). */
static uint64_t epoch_and_wait(void)
{
    uint64_t seq = t_hz3()->epoch_force();
    pthread_mutex_lock(&lock);
    while (seen_epoch < seq) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return seq;
}

/* Runs epochs until a sweep that started after `after` has come in;
 * between epochs calls churn (if any). Returns that sweep. */
static struct hz3_snapshot *sweep_after(uint64_t after, void (*churn)(void))
{
    static struct hz3_snapshot out;
    for (unsigned i = 0; i < 100000; i++) {
        epoch_and_wait();
        pthread_mutex_lock(&lock);
        bool done = sweeps && last_sweep.seq_first > after;
        if (done) memcpy(&out, &last_sweep, sizeof out);
        pthread_mutex_unlock(&lock);
        if (done) return &out;
        if (churn) churn();
    }
    fprintf(stderr, "no sweep came in\n");
    exit(2);
}

static void *runs[64];
static void take_and_give_runs(void)
{
    /* runs come from the page pool and go straight back to it */
    for (int i = 0; i < 64; i++) runs[i] = malloc(100000 + (size_t)i * 4096);
    for (int i = 0; i < 64; i++) free(runs[i]);
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    CHECK(hz->config_set("epoch_interval_ms", 0) == 0);   /* only our epochs */
    CHECK(hz->config_set("purge_delay_ms", 3600000) == 0); /* epochs decommit nothing */
    CHECK(hz->config_set("scan_seg_budget", 1) == 0);
    CHECK(hz->config_set("snapshot_min_ms", 0) == 0);
    /* A heap of several segments, so that a sweep spans several epochs. */
    enum { N = 6 };
    void *keep[N];
    for (int i = 0; i < N; i++) memset(keep[i] = malloc(900000), 1, 900000);
    CHECK(hz->set_listener(listener, NULL) == 0);

    /* 1. Quiet: nothing takes or gives pages while the sweep runs. */
    uint64_t start = epoch_and_wait();
    struct hz3_snapshot *s = sweep_after(start, NULL);
    printf("quiet sweep: epochs %llu..%llu, %llu segments, consistent=%u\n", (unsigned long long)s->seq_first,
           (unsigned long long)s->seq_last, (unsigned long long)s->segments_scanned, s->consistent);
    CHECK(s->exact == 0 && s->segments_scanned >= N && s->seq_last > s->seq_first);
    CHECK_MSG(s->consistent == 1 && s->pages_moved == 0, "a quiet sweep: consistent=%u, %u pages moved",
              s->consistent, s->pages_moved);

    /* 2. Changing: runs taken and given back between the sweep's epochs. */
    start = epoch_and_wait();
    s = sweep_after(start, take_and_give_runs);
    printf("changing sweep: epochs %llu..%llu, %llu segments, consistent=%u\n", (unsigned long long)s->seq_first,
           (unsigned long long)s->seq_last, (unsigned long long)s->segments_scanned, s->consistent);
    /* Each round between two epochs takes and gives back 64 runs. */
    uint64_t round = 0, counted = 0;
    for (int i = 0; i < 64; i++) round += 2 * ((100000 + (uint64_t)i * 4096 + 4095) / 4096);
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) counted += s->tier[t].pages_total;
    printf("changing sweep: %u pages moved (a round moves %llu), %llu pages counted\n", s->pages_moved,
           (unsigned long long)round, (unsigned long long)counted);
    CHECK_MSG(s->pages_moved >= round, "%u pages moved, one round alone moves %llu", s->pages_moved,
              (unsigned long long)round);
    CHECK_MSG(s->consistent == 0, "a sweep over a changing heap says it is consistent");

    /* 3. An exact census holds the pool lock for its pass: consistent. */
    static struct hz3_snapshot exact;
    t_snapshot(&exact);
    CHECK(exact.exact == 1 && exact.consistent == 1 && exact.version == HZ3_SNAPSHOT_VERSION);

    CHECK(hz->set_listener(NULL, NULL) == 0);
    for (int i = 0; i < N; i++) free(keep[i]);
    return t_finish("test-consistent");
}
