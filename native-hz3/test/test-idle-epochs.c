/*
 * test-idle-epochs.c: in a process that does nothing, the timer epochs that
 * change nothing reach the listener once a second, not at every interval;
 * an epoch that gives memory back still reaches it. (An idle JVM's agent
 * paid a JNA callback and an hz3.Epoch event for each of five timer epochs
 * a second that did nothing.)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "test_util.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint64_t quiet_timer_epochs, giving_back;

/* Allocates nothing: the idle part must stay idle. */
static void listener(void *ctx, int kind, const void *data)
{
    (void)ctx;
    if (kind != HZ3_EVENT_EPOCH) return;
    const struct hz3_epoch_info *e = data;
    pthread_mutex_lock(&lock);
    if (e->reason == HZ3_EPOCH_TIMER && !e->pages_purged && !e->segments_unmapped && !e->large_unmapped &&
        !e->spans_reclaimed && !e->segments_scanned)
        quiet_timer_epochs++;
    if (e->pages_purged || e->large_unmapped || e->segments_unmapped) giving_back++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static uint64_t read_count(const uint64_t *counter)
{
    pthread_mutex_lock(&lock);
    uint64_t v = *counter;
    pthread_mutex_unlock(&lock);
    return v;
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static uint64_t epochs_run(void)
{
    return t_stats().epochs;
}

/* Waits (10 s at most, polling hz3's counter every 5 ms) until at least n
 * more epochs have run; returns whether they did. */
static bool wait_epochs(uint64_t n)
{
    uint64_t target = epochs_run() + n, deadline = now_ms() + 10000;
    while (epochs_run() < target) {
        if (now_ms() > deadline) return false;
        nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
    }
    return true;
}

/* Waits (10 s at most, on the condition variable) until *counter > 0. */
static bool wait_positive(const uint64_t *counter)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&lock);
    int rc = 0;
    while (*counter == 0 && rc == 0) rc = pthread_cond_timedwait(&cond, &lock, &until);
    bool ok = *counter > 0;
    pthread_mutex_unlock(&lock);
    return ok;
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    CHECK(hz->config_set("epoch_interval_ms", 10) == 0);
    CHECK(hz->config_set("purge_delay_ms", 50) == 0);
    CHECK(hz->config_set("scan_seg_budget", 0) == 0);   /* no census sweeps: scanning is news */
    printf("test-idle-epochs: start\n");                /* stdio's buffer, before the idle part */
    CHECK(hz->set_listener(listener, NULL) == 0);
    CHECK(wait_epochs(20));                          /* the listener's own start settles */

    /* 1. Idle: 150 timer epochs in 1.5 s or more, of which about one a second arrives. */
    uint64_t quiet0 = read_count(&quiet_timer_epochs), t0 = now_ms();
    CHECK(wait_epochs(150));
    uint64_t seconds = (now_ms() - t0 + 999) / 1000;
    uint64_t quiet = read_count(&quiet_timer_epochs) - quiet0;
    CHECK_MSG(quiet <= seconds + 1, "%llu quiet timer epochs reached the listener in %llu s (150 ran)",
              (unsigned long long)quiet, (unsigned long long)seconds);
    CHECK_MSG(quiet >= 1, "no quiet timer epoch reached the listener in %llu s", (unsigned long long)seconds);

    /* 2. Memory to give back: the epoch that does it arrives. */
    enum { N = 64 };
    void *p[N];
    for (int i = 0; i < N; i++) memset(p[i] = malloc(12000), 1, 12000);
    void *big = malloc(8 << 20);
    memset(big, 1, 8 << 20);
    for (int i = 0; i < N; i++) free(p[i]);
    free(big);
    CHECK_MSG(wait_positive(&giving_back), "no epoch that gave memory back reached the listener");

    CHECK(hz->set_listener(NULL, NULL) == 0);
    return t_finish("test-idle-epochs");
}
