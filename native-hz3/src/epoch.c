/*
 * epoch.c: the maintenance and observation boundary.
 *
 * An epoch, numbered by one global sequence, does bounded work:
 *   - gives back abandoned spans that other threads have emptied;
 *   - on timer epochs, asks every heap to give back what it keeps empty
 *     (each heap does so on its next slow path);
 *   - on purge epochs, gives back the empty spans every live heap keeps,
 *     from this thread, under each heap's lock (idle threads have no slow
 *     path to do it on; see hz3_types.h for what is and is not taken);
 *   - decommits free pages and releases wholly free segments and cached
 *     large mappings that stayed unused past purge_delay_ms, beyond the
 *     working set (what was taken again within that time: purge.c), with
 *     one MADV_DONTNEED per contiguous range; at a thread's end, every
 *     wholly free segment but one, whatever its age;
 *   - advances the census sweep by scan_seg_budget segments; a completed
 *     sweep becomes the snapshot handed to the listener. Only while a
 *     listener is set, one sweep per snapshot_min_ms, and none from a timer
 *     epoch when nothing changed (census_due: an idle process walks nothing).
 * Epochs run from allocation slow paths (every 256th, at most one per
 * epoch_interval_ms, skipped if another epoch is running), at thread exit,
 * on demand, and from a maintenance thread started lazily, so a process
 * whose threads live on cache hits or sleep still gets its memory back.
 * The maintenance thread is also the listener's dispatcher: the listener
 * is never called from inside malloc or free.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "hz3_internal.h"
#include "sample.h"

#define RING 64   /* epoch records waiting for the listener; older ones are dropped */
/* A timer epoch that changed nothing reaches the listener only when no
 * epoch did for this long: an idle process's recording still shows its
 * timer running, and the listener is not called five times a second for
 * nothing (an idle JVM's agent paid a JNA callback and an event for each). */
#define QUIET_EPOCH_MS 1000

hz3_config_t _hz3_cfg = {
    .scan_seg_budget = 64,
    .purge_delay_ms = 500,
    .epoch_interval_ms = 200,
    .snapshot_min_ms = 1000,
};
_Atomic uint64_t _hz3_decay_gen;

static pthread_mutex_t epoch_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t epoch_seq;
static _Atomic uint64_t last_epoch_ms;
static hz3_epoch_totals_t totals;   /* under epoch_lock */
static HZ3_TLS uint32_t tl_ticks;
static HZ3_TLS bool tl_in_epoch;

/* Under epoch_lock: the sweep in progress, and what waits for the listener. */
static hz3_census_cursor_t sweep_cursor;
static struct hz3_snapshot sweep;
static bool sweep_active;
static struct hz3_snapshot ready;      /* last completed sweep */
static bool ready_pending;
static struct hz3_epoch_info ring[RING];
static uint64_t ring_head, ring_tail;
static uint64_t large_unmapped_total;
static uint64_t last_ring_ms;          /* when an epoch last went into the ring */
static _Atomic bool listener_set;      /* read by epochs, which do not take maint_lock */

/* The maintenance thread and the listener (maint_lock). */
static pthread_mutex_t maint_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t maint_cond;
static _Atomic bool maint_started;
static bool maint_wake;
static hz3_listener_fn listener;
static void *listener_ctx;
static bool listener_busy;             /* the maintenance thread is calling it */
static pthread_cond_t listener_idle = PTHREAD_COND_INITIALIZER;
static HZ3_TLS bool tl_is_maint;
static uint64_t last_delivery_ms;

void _hz3_epoch_lock(void)
{
    pthread_mutex_lock(&maint_lock);
    pthread_mutex_lock(&epoch_lock);
}
void _hz3_epoch_unlock(void)
{
    pthread_mutex_unlock(&epoch_lock);
    pthread_mutex_unlock(&maint_lock);
}
void _hz3_epoch_after_fork_child(void)
{
    pthread_mutex_init(&epoch_lock, NULL);
    pthread_mutex_init(&maint_lock, NULL);
    pthread_cond_init(&listener_idle, NULL);
    listener_busy = false;
    maint_started = false;   /* the thread does not exist in the child */
    sweep_active = false;
}

/* What a census reads changes on slow paths (every one ticks: epochs
 * start there), by pages changing hands in the pool, and by epochs' own
 * purges. census_dirty is set on the first of these slow paths after a
 * sweep begins (a load of a line read by all, stored once per sweep):
 * never on the fast path, whose live-count changes a clean census misses
 * until the next slow path (include/hz3.h, "Consistency", says a sweep's
 * live counts are exact only when read). */
static _Atomic bool census_dirty = true;
static uint64_t census_gen;            /* under epoch_lock: pool changes and purges at the last sweep's start */
static uint64_t sweep_begun_ms;        /* under epoch_lock */

static bool census_unchanged(uint64_t gen)
{
    return !atomic_load_explicit(&census_dirty, memory_order_relaxed) && gen == census_gen;
}

/* Whether this epoch steps the census. Only a listener reads a budgeted
 * sweep, at most once per snapshot_min_ms: a new sweep begins when the next
 * delivery is nearer than half an epoch interval (so that the one it makes
 * is ready in time), and on a timer epoch only when something changed since
 * the last one began; an idle process's timer epochs then walk nothing. */
static bool census_due(enum hz3_epoch_reason reason, uint64_t now, uint64_t gen)
{
    if (sweep_active) return true;
    if (!atomic_load_explicit(&listener_set, memory_order_relaxed) || ready_pending) return false;
    uint64_t half = _hz3_cfg.epoch_interval_ms / 2;
    if (sweep_begun_ms && now - sweep_begun_ms + half < _hz3_cfg.snapshot_min_ms) return false;
    return reason != HZ3_EPOCH_TIMER || !census_unchanged(gen);
}

static void census_sweep_step(uint64_t seq, uint64_t budget, uint64_t now, uint64_t gen, struct hz3_epoch_info *info)
{
    if (!sweep_active) {
        atomic_store_explicit(&census_dirty, false, memory_order_relaxed);
        census_gen = gen;
        sweep_begun_ms = now;
        _hz3_census_begin(&sweep, seq, false);
        memset(&sweep_cursor, 0, sizeof sweep_cursor);
        sweep_active = true;
    }
    uint64_t before = sweep.segments_scanned;
    bool done = _hz3_pool_census_step(&sweep_cursor, budget, _hz3_census_visit, &sweep);
    info->segments_scanned = sweep.segments_scanned - before;
    if (done) {
        _hz3_census_finish(&sweep, seq, &sweep_cursor);
        ready = sweep;
        ready_pending = true;
        sweep_active = false;
    }
}

static void wake_maintenance(void);

/* Runs an epoch; the caller holds epoch_lock, which this releases. */
static uint64_t epoch_locked(enum hz3_epoch_reason reason, struct hz3_snapshot *full)
{
    struct hz3_epoch_info info;
    memset(&info, 0, sizeof info);
    uint64_t t0 = _hz3_now_ns();
    info.start_ms = _hz3_wall_ms();
    info.reason = reason;
    info.os_tid = (uint32_t)syscall(SYS_gettid);
    prctl(PR_GET_NAME, info.thread_name, 0, 0, 0);
    info.seq = atomic_fetch_add(&epoch_seq, 1) + 1;
    uint64_t now = _hz3_now_ms();
    atomic_store_explicit(&last_epoch_ms, now, memory_order_relaxed);

    info.spans_reclaimed = _hz3_abandoned_reclaim();
    if (reason == HZ3_EPOCH_PURGE) _hz3_heaps_give_empty();
    if (reason == HZ3_EPOCH_TIMER || reason == HZ3_EPOCH_PURGE) atomic_fetch_add(&_hz3_decay_gen, 1);
    uint64_t delay = reason == HZ3_EPOCH_PURGE ? 0 : _hz3_cfg.purge_delay_ms;
    _hz3_pool_purge(now, delay, &info);
    /* A thread's end hands its spans back at once: the segments they leave
     * wholly free go now, not after the delay (segment.c says why). */
    if (reason == HZ3_EPOCH_THREAD_EXIT) _hz3_pool_release_whole(&info);
    _hz3_large_purge(now, delay, &info);

    if (full) {
        _hz3_census_begin(full, info.seq, true);
        hz3_census_cursor_t cur;
        memset(&cur, 0, sizeof cur);
        _hz3_pool_census_step(&cur, UINT64_MAX, _hz3_census_visit, full);
        info.segments_scanned = full->segments_scanned;
        _hz3_census_finish(full, info.seq, &cur);
    } else if (_hz3_cfg.scan_seg_budget) {
        /* read after this epoch's own purges, which count as changes */
        uint64_t gen = _hz3_pool_changes() + totals.pages_purged + info.pages_purged + totals.spans_reclaimed +
                       info.spans_reclaimed + info.large_unmapped + large_unmapped_total;
        if (census_due(reason, now, gen)) census_sweep_step(info.seq, _hz3_cfg.scan_seg_budget, now, gen, &info);
    }
#if HZ3_DEBUG
    /* The debug build checks the page pool's invariants at every epoch. */
    if (_hz3_validate_segments() != 0) {
        _hz3_write_str(2, "hz3: invariant violated (see above); aborting\n");
        abort();
    }
#endif
    info.duration_ns = _hz3_now_ns() - t0;
    totals.epochs++;
    if (info.pages_purged || info.segments_unmapped || info.large_unmapped) totals.purging_epochs++;
    totals.pages_purged += info.pages_purged;
    totals.madvise_calls += info.madvise_calls;
    totals.segments_unmapped += info.segments_unmapped;
    totals.spans_reclaimed += info.spans_reclaimed;
    large_unmapped_total += info.large_unmapped;
    totals.last_seq = info.seq;
    bool quiet = reason == HZ3_EPOCH_TIMER && !info.pages_purged && !info.segments_unmapped &&
                 !info.large_unmapped && !info.spans_reclaimed && !info.segments_scanned;
    if (!quiet || now - last_ring_ms >= QUIET_EPOCH_MS) {
        last_ring_ms = now;
        if (ring_head - ring_tail == RING) ring_tail++;
        ring[ring_head++ % RING] = info;
    }
    bool notify = ready_pending || reason != HZ3_EPOCH_TIMER;
    pthread_mutex_unlock(&epoch_lock);
    tl_in_epoch = false;
    if (notify) wake_maintenance();
    return info.seq;
}

uint64_t _hz3_epoch_run(enum hz3_epoch_reason reason, struct hz3_snapshot *full)
{
    _hz3_ensure_init();
    /* What this thread freed for other threads' spans is counted as live
     * until pushed: push it, so that its own census and purge see it free. */
    _hz3_remote_flush(_hz3_tl_heap);
    tl_in_epoch = true;
    pthread_mutex_lock(&epoch_lock);
    return epoch_locked(reason, full);
}

void _hz3_epoch_totals(hz3_epoch_totals_t *out)
{
    pthread_mutex_lock(&epoch_lock);
    *out = totals;
    pthread_mutex_unlock(&epoch_lock);
}

uint64_t _hz3_purged_pages_total(void)
{
    hz3_epoch_totals_t t;
    _hz3_epoch_totals(&t);
    return t.pages_purged;
}

/* ---- the maintenance thread ---- */

static void deliver(void)
{
    /* Copy out under the epoch lock, call the listener without it; the
     * listener is marked busy meanwhile, so that removing it can wait. */
    static struct hz3_epoch_info batch[RING];
    static struct hz3_snapshot snap;
    pthread_mutex_lock(&epoch_lock);
    size_t n = 0;
    while (ring_tail != ring_head) batch[n++] = ring[ring_tail++ % RING];
    bool have_snap = false;
    uint64_t now = _hz3_now_ms();
    if (ready_pending && (last_delivery_ms == 0 || now - last_delivery_ms >= _hz3_cfg.snapshot_min_ms)) {
        snap = ready;
        ready_pending = false;
        have_snap = true;
        last_delivery_ms = now;
    }
    pthread_mutex_unlock(&epoch_lock);

    for (size_t i = 0; i <= n; i++) {
        if (i == n && !have_snap) break;
        pthread_mutex_lock(&maint_lock);
        hz3_listener_fn fn = listener;
        void *ctx = listener_ctx;
        listener_busy = fn != NULL;
        pthread_mutex_unlock(&maint_lock);
        if (!fn) break;
        if (i < n) fn(ctx, HZ3_EVENT_EPOCH, &batch[i]);
        else fn(ctx, HZ3_EVENT_SNAPSHOT, &snap);
        pthread_mutex_lock(&maint_lock);
        listener_busy = false;
        pthread_cond_broadcast(&listener_idle);
        pthread_mutex_unlock(&maint_lock);
    }
}

static void *maintenance_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "hz3-maint", 0, 0, 0);
    tl_is_maint = true;
    tl_in_epoch = true;   /* this thread's own slow paths never start epochs */
    pthread_mutex_lock(&maint_lock);
    /* The timer's deadline survives wake-ups (each epoch wakes this thread
     * to deliver its events): a busy process, whose slow paths run epochs
     * more often than the interval, must still get its timer epochs, which
     * alone give back idle heaps' kept spans. */
    struct timespec until;
    bool due = true;
    for (;;) {
        if (due) {
            uint64_t interval = _hz3_cfg.epoch_interval_ms ? _hz3_cfg.epoch_interval_ms : 1000;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += (time_t)(interval / 1000);
            until.tv_nsec += (long)(interval % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
        }
        int rc = 0;
        while (!maint_wake && rc == 0) rc = pthread_cond_timedwait(&maint_cond, &maint_lock, &until);
        bool woken = maint_wake;
        maint_wake = false;
        due = !woken;
        pthread_mutex_unlock(&maint_lock);
        if (due && _hz3_cfg.epoch_interval_ms) _hz3_epoch_run(HZ3_EPOCH_TIMER, NULL);
        deliver();
        pthread_mutex_lock(&maint_lock);
    }
    return NULL;
}

/* Starts the maintenance thread once per process (again in a fork child).
 * Called outside every allocator lock: pthread_create allocates. */
static bool start_maintenance(void)
{
    pthread_mutex_lock(&maint_lock);
    if (maint_started) {
        pthread_mutex_unlock(&maint_lock);
        return true;
    }
    maint_started = true;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&maint_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_unlock(&maint_lock);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_t t;
    /* glibc allocates the thread's TLS vector here, on whichever user
     * thread ticked first: hz3's own, not a sample of that thread's site. */
    _hz3_sample_own(true);
    bool ok = pthread_create(&t, &attr, maintenance_main, NULL) == 0;
    _hz3_sample_own(false);
    pthread_attr_destroy(&attr);
    if (!ok) {
        pthread_mutex_lock(&maint_lock);
        maint_started = false;
        pthread_mutex_unlock(&maint_lock);
    }
    return ok;
}

static void wake_maintenance(void)
{
    pthread_mutex_lock(&maint_lock);
    bool started = maint_started;
    if (started) {
        maint_wake = true;
        pthread_cond_signal(&maint_cond);
    }
    pthread_mutex_unlock(&maint_lock);
}

int _hz3_set_listener(hz3_listener_fn fn, void *ctx)
{
    pthread_mutex_lock(&maint_lock);
    listener = fn;
    listener_ctx = ctx;
    atomic_store_explicit(&listener_set, fn != NULL, memory_order_relaxed);
    /* The old listener may be running on the maintenance thread: wait for
     * it to return (not when it is the caller: it would wait for itself). */
    while (listener_busy && !tl_is_maint) pthread_cond_wait(&listener_idle, &maint_lock);
    pthread_mutex_unlock(&maint_lock);
    return fn && !start_maintenance() ? -1 : 0;
}

extern _Atomic bool _hz3_constructed;

void _hz3_epoch_tick(void)
{
    if (!atomic_load_explicit(&census_dirty, memory_order_relaxed))
        atomic_store_explicit(&census_dirty, true, memory_order_relaxed);
    if (HZ3_LIKELY(++tl_ticks & 255) || tl_in_epoch) return;
    uint64_t now = _hz3_now_ms();
    uint64_t interval = _hz3_cfg.epoch_interval_ms ? _hz3_cfg.epoch_interval_ms : 200;
    if (now - atomic_load_explicit(&last_epoch_ms, memory_order_relaxed) < interval) return;
    if (_hz3_cfg.epoch_interval_ms && atomic_load_explicit(&_hz3_constructed, memory_order_relaxed) &&
        !atomic_load_explicit(&maint_started, memory_order_relaxed))
        start_maintenance();
    tl_in_epoch = true;
    if (pthread_mutex_trylock(&epoch_lock) != 0) {   /* one is running: that will do */
        tl_in_epoch = false;
        return;
    }
    epoch_locked(HZ3_EPOCH_SLOW_PATH, NULL);
}
