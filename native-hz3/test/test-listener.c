/*
 * test-listener.c: epochs and snapshots reach a listener on hz3's
 * maintenance thread, never inside malloc/free, so the listener may
 * allocate. Epoch numbers increase; a budgeted sweep says which epochs it
 * spans and how much of the heap it covered.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "test_util.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint64_t epochs_seen, last_seq, forced_seen;
static bool seq_increasing = true, wrong_thread, reason_forced;
static struct hz3_snapshot got;
static int snapshots_seen;

static void listener(void *ctx, int kind, const void *data)
{
    char name[16] = { 0 };
    prctl(PR_GET_NAME, name, 0, 0, 0);
    void *scratch = malloc(4000);   /* a listener may allocate */
    memset(scratch, 1, 4000);
    free(scratch);
    pthread_mutex_lock(&lock);
    if (strcmp(name, "hz3-maint") != 0) wrong_thread = true;
    if (kind == HZ3_EVENT_EPOCH) {
        const struct hz3_epoch_info *e = data;
        if (e->seq <= last_seq) seq_increasing = false;
        last_seq = e->seq;
        epochs_seen++;
        if (e->reason == HZ3_EPOCH_FORCED) {
            forced_seen++;
            reason_forced = e->os_tid == (uint32_t)(uintptr_t)ctx && strcmp(e->thread_name, "test-listener") == 0;
        }
    } else if (kind == HZ3_EVENT_SNAPSHOT) {
        memcpy(&got, data, sizeof got);
        snapshots_seen++;
    }
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

/* Waits (condition variable, 10 s at most) until pred holds. */
static bool wait_for(bool (*pred)(void))
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&lock);
    int rc = 0;
    while (!pred() && rc == 0) rc = pthread_cond_timedwait(&cond, &lock, &until);
    bool ok = pred();
    pthread_mutex_unlock(&lock);
    return ok;
}

static bool have_forced(void) { return forced_seen >= 3; }
static bool have_snapshot(void) { return snapshots_seen > 0; }

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    prctl(PR_SET_NAME, "test-listener", 0, 0, 0);
    CHECK(hz->config_set("snapshot_min_ms", 0) == 0);
    CHECK(hz->config_set("scan_seg_budget", 1) == 0);   /* a sweep takes several epochs */
    /* some heap spread over several segments */
    enum { N = 3000 };
    static void *p[N];
    for (int i = 0; i < N; i++) p[i] = malloc(8000);
    CHECK(hz->set_listener(listener, (void *)(uintptr_t)gettid()) == 0);
    for (int i = 0; i < 3; i++) hz->epoch_force();
    CHECK(wait_for(have_forced));
    pthread_mutex_lock(&lock);
    CHECK(seq_increasing && !wrong_thread && reason_forced);
    pthread_mutex_unlock(&lock);

    /* force epochs until a budgeted sweep completes */
    struct hz3_stats st = t_stats();
    for (uint64_t i = 0; i < st.segments_active + 2; i++) hz->epoch_force();
    CHECK(wait_for(have_snapshot));
    pthread_mutex_lock(&lock);
    CHECK_MSG(got.exact == 0 && got.seq_first < got.seq_last, "sweep spans epochs %llu..%llu",
              (unsigned long long)got.seq_first, (unsigned long long)got.seq_last);
    CHECK_MSG(got.segments_scanned >= 2 && got.segments_scanned <= got.segments_total + 1,
              "sweep covered %llu of %llu segments", (unsigned long long)got.segments_scanned,
              (unsigned long long)got.segments_total);
    CHECK(got.tier[HZ3_TIER_MEDIUM].live_objects >= N);
    pthread_mutex_unlock(&lock);

    CHECK(hz->set_listener(NULL, NULL) == 0);
    for (int i = 0; i < N; i++) free(p[i]);
    return t_finish("test-listener");
}
