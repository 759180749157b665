/*
 * test-idle-census.c: a process that neither allocates nor frees costs its
 * timer epochs no census walk, even with a listener waiting for snapshots;
 * the first allocation slow path after that starts the sweeps again. (An
 * idle service's maintenance thread walked every segment five times a
 * second for a listener that reads one snapshot a second at most.)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "test_util.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint64_t timer_epochs_walking, snapshots;
static uint64_t live_medium;   /* of the last snapshot */

/* Allocates nothing: the idle part must stay idle. */
static void listener(void *ctx, int kind, const void *data)
{
    (void)ctx;
    pthread_mutex_lock(&lock);
    if (kind == HZ3_EVENT_EPOCH) {
        const struct hz3_epoch_info *e = data;
        if (e->reason == HZ3_EPOCH_TIMER && e->segments_scanned) timer_epochs_walking++;
    } else if (kind == HZ3_EVENT_SNAPSHOT) {
        snapshots++;
        live_medium = ((const struct hz3_snapshot *)data)->tier[HZ3_TIER_MEDIUM].live_objects;
    }
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

/* Waits (10 s at most, on the condition variable: no allocation) until
 * *counter reaches at_least; returns whether it did. */
static bool wait_count(const uint64_t *counter, uint64_t at_least)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&lock);
    int rc = 0;
    while (*counter < at_least && rc == 0) rc = pthread_cond_timedwait(&cond, &lock, &until);
    bool ok = *counter >= at_least;
    pthread_mutex_unlock(&lock);
    return ok;
}

/* Waits (10 s at most, polling hz3's counter every 5 ms) until at least n
 * more epochs have run: the listener no longer hears of the timer epochs
 * that change nothing (test-idle-epochs). */
static bool wait_epochs(uint64_t n)
{
    uint64_t target = t_stats().epochs + n;
    struct timespec until, now;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 10;
    while (t_stats().epochs < target) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec > until.tv_nsec)) return false;
        nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
    }
    return true;
}

static uint64_t read_count(const uint64_t *counter)
{
    pthread_mutex_lock(&lock);
    uint64_t v = *counter;
    pthread_mutex_unlock(&lock);
    return v;
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    CHECK(hz->config_set("epoch_interval_ms", 10) == 0);
    CHECK(hz->config_set("snapshot_min_ms", 0) == 0);        /* a snapshot every epoch, if walked */
    CHECK(hz->config_set("purge_delay_ms", 3600000) == 0);   /* no decommit changes the census */
    printf("test-idle-census: start\n");                     /* stdio's buffer, before the idle part */
    enum { N = 200 };
    static void *p[N];
    for (int i = 0; i < N; i++) memset(p[i] = malloc(8000), 1, 8000);
    CHECK(hz->set_listener(listener, NULL) == 0);

    /* The first sweep after the allocations, then a few epochs for the
     * listener's own start (its thread's stack, its TLS) to settle. */
    CHECK(wait_count(&snapshots, 1));
    CHECK(wait_epochs(5));

    /* 1. Idle: twenty timer epochs, none walks. */
    uint64_t walking0 = read_count(&timer_epochs_walking);
    uint64_t snaps0 = read_count(&snapshots);
    CHECK(wait_epochs(20));
    uint64_t walked = read_count(&timer_epochs_walking) - walking0;
    CHECK_MSG(walked == 0, "%llu of 20 idle timer epochs walked the census", (unsigned long long)walked);
    CHECK_MSG(read_count(&snapshots) == snaps0, "an idle process got %llu new snapshots",
              (unsigned long long)(read_count(&snapshots) - snaps0));

    /* 2. Allocations' slow paths (a class this heap has no span of) make
     * the timer epochs walk again: a snapshot comes that counts them all
     * (one taken while the loop still ran counts fewer; the last slow path
     * brings the one after the loop). */
    void *more[N];
    for (int i = 0; i < N; i++) more[i] = malloc(12000);
    CHECK_MSG(wait_count(&live_medium, 2 * N), "the last of %llu snapshots counts %llu medium objects live, "
              "%d allocated", (unsigned long long)read_count(&snapshots), (unsigned long long)read_count(&live_medium),
              2 * N);

    CHECK(hz->set_listener(NULL, NULL) == 0);
    for (int i = 0; i < N; i++) free(p[i]), free(more[i]);
    return t_finish("test-idle-census");
}
