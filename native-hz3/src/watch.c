/*
 * watch.c: one descriptor watched on a thread of hz3's own (hz3_watch_fd).
 *
 * Why hz3 has it: a JVM agent that serves a control socket would otherwise
 * keep a Java thread for it, and in a JVM that records with JFR every Java
 * thread is visited by the thread sampler at each of its periods (a Java
 * thread blocked in accept() is stack-walked there; one that polls wakes
 * for nothing). This thread is no Java thread while it waits: it sits in
 * poll(2), runs no code until the descriptor is readable, and only the
 * callback runs in the JVM (JNA attaches the thread for the call).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "hz3_internal.h"
#include "sample.h"

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_idle = PTHREAD_COND_INITIALIZER;
static int watched = -1;          /* under watch_lock, as is everything below */
static hz3_watch_fn watch_fn;
static void *watch_ctx;
static int wake_fd = -1;          /* made once: tells the thread that what it watches changed */
static bool running;              /* the thread is alive (or about to be) */
static bool calling;              /* it is in watch_fn */
static pid_t running_pid;         /* a fork child has no thread, whatever its copy of running says */
static HZ3_TLS bool tl_is_watcher;

static void *watch_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "hz3-watch", 0, 0, 0);
    tl_is_watcher = true;
    pthread_mutex_lock(&watch_lock);
    while (watched >= 0) {
        struct pollfd p[2] = {{.fd = watched, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
        pthread_mutex_unlock(&watch_lock);
        int n = poll(p, 2, -1);
        if (p[1].revents & POLLIN) {
            uint64_t drained;
            ssize_t r = read(wake_fd, &drained, sizeof drained);
            (void)r;
        }
        pthread_mutex_lock(&watch_lock);
        if (n < 0 || watched != p[0].fd || !(p[0].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL))) {
            continue;   /* interrupted, replaced or stopped meanwhile, or only woken */
        }
        if (p[0].revents & POLLNVAL) {   /* closed under us: poll would return at once forever */
            watched = -1;
            break;
        }
        hz3_watch_fn fn = watch_fn;
        void *ctx = watch_ctx;
        calling = true;
        pthread_mutex_unlock(&watch_lock);
        int stop = fn(ctx, p[0].fd);
        pthread_mutex_lock(&watch_lock);
        calling = false;
        pthread_cond_broadcast(&watch_idle);
        if (stop && watched == p[0].fd) watched = -1;
    }
    running = false;
    pthread_cond_broadcast(&watch_idle);
    pthread_mutex_unlock(&watch_lock);
    return NULL;
}

/* fork: taken first (hz3_watch_fd allocates while holding it), so that a
 * child never inherits it held by the watcher, which has no thread there. */
void _hz3_watch_lock(void) { pthread_mutex_lock(&watch_lock); }
void _hz3_watch_unlock(void) { pthread_mutex_unlock(&watch_lock); }
void _hz3_watch_after_fork_child(void)
{
    pthread_mutex_init(&watch_lock, NULL);
    pthread_cond_init(&watch_idle, NULL);
}

/* Under watch_lock; false if the thread could not be started. pthread_create
 * allocates: the lock is hz3's own, never taken inside malloc. */
static bool start_watcher(void)
{
    if (running && running_pid == getpid()) return true;
    running = false;
    calling = false;
    if (wake_fd < 0) wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0) return false;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_t t;
    _hz3_sample_own(true);   /* the thread's TLS is hz3's, not a sample of the caller's site */
    running = pthread_create(&t, &attr, watch_main, NULL) == 0;
    _hz3_sample_own(false);
    pthread_attr_destroy(&attr);
    running_pid = getpid();
    return running;
}

HZ3_EXPORT int hz3_watch_fd(int fd, hz3_watch_fn fn, void *ctx)
{
    _hz3_ensure_init();
    pthread_mutex_lock(&watch_lock);
    if (running && running_pid != getpid()) running = calling = false;
    bool watch = fd >= 0 && fn;
    watched = watch ? fd : -1;
    watch_fn = watch ? fn : NULL;
    watch_ctx = watch ? ctx : NULL;
    int rc = 0;
    if (watch && !start_watcher()) {
        watched = -1;
        rc = -1;
    }
    if (wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(wake_fd, &one, sizeof one);
        (void)w;
    }
    /* A callback of the old watch may be running: wait for it to return (not
     * when it is the caller: it would wait for itself). */
    while (calling && !tl_is_watcher) pthread_cond_wait(&watch_idle, &watch_lock);
    pthread_mutex_unlock(&watch_lock);
    return rc;
}
