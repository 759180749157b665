/*
 * test-watch.c: hz3_watch_fd calls back on hz3's own thread, once for each
 * time the descriptor becomes readable, and not at all once stopped; a
 * callback that asks to stop ends the thread. (A JVM agent serves its control socket this way instead of
 * with a Java thread that JFR's sampler visits while the JVM idles.)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "test_util.h"

static int (*watch)(int, hz3_watch_fn, void *);
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int calls;
static char last_thread[16];
static pid_t last_tid;
static char last_byte;

static int on_readable(void *ctx, int fd)
{
    char c = 0;
    if (read(fd, &c, 1) != 1) c = '?';
    pthread_mutex_lock(&lock);
    calls++;
    last_byte = c;
    last_tid = (pid_t)syscall(SYS_gettid);
    prctl(PR_GET_NAME, last_thread, 0, 0, 0);
    CHECK(ctx == &calls);
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    return c == 's';
}

/* Waits (10 s at most) until the callback has run n times in all. */
static bool wait_calls(int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&lock);
    int rc = 0;
    while (calls < n && rc == 0) rc = pthread_cond_timedwait(&cond, &lock, &until);
    bool ok = calls >= n;
    pthread_mutex_unlock(&lock);
    return ok;
}

static bool watcher_alive(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    bool found = false;
    while (d && (e = readdir(d))) {
        char path[300], name[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(name, sizeof name, f) && strcmp(name, "hz3-watch\n") == 0) found = true;
        fclose(f);
    }
    if (d) closedir(d);
    return found;
}

/* Polls (every 2 ms, 10 s at most) until the watching thread has exited. */
static bool watcher_gone(void)
{
    for (int i = 0; i < 5000; i++) {
        if (!watcher_alive()) return true;
        struct timespec ms2 = {0, 2000000};
        nanosleep(&ms2, NULL);
    }
    return false;
}

static void put(int fd, char c)
{
    CHECK(write(fd, &c, 1) == 1);
}

/* The byte still waiting in fd (nobody took it), or 0. */
static char unread(int fd)
{
    char c = 0;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (read(fd, &c, 1) != 1) c = 0;
    fcntl(fd, F_SETFL, fl);
    return c;
}

int main(void)
{
    watch = (int (*)(int, hz3_watch_fn, void *))dlsym(RTLD_DEFAULT, "hz3_watch_fd");
    if (!watch) {
        fprintf(stderr, "hz3_watch_fd not found: is libhz3 preloaded?\n");
        return 1;
    }
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK(!watcher_alive());

    CHECK(watch(p[0], on_readable, &calls) == 0);
    put(p[1], 'a');
    CHECK(wait_calls(1));
    CHECK_MSG(strcmp(last_thread, "hz3-watch") == 0, "called on %s", last_thread);
    CHECK(last_tid != (pid_t)syscall(SYS_gettid));
    put(p[1], 'b');
    CHECK(wait_calls(2));
    CHECK(last_byte == 'b');

    /* Stopped: the thread ends, and what arrives after is nobody's. */
    CHECK(watch(-1, NULL, NULL) == 0);
    CHECK(watcher_gone());
    put(p[1], 'c');
    CHECK(unread(p[0]) == 'c');
    CHECK(calls == 2);

    /* A callback that returns nonzero ends the watch. */
    CHECK(watch(p[0], on_readable, &calls) == 0);
    put(p[1], 's');
    CHECK(wait_calls(3));
    CHECK(watcher_gone());
    put(p[1], 'd');
    CHECK(unread(p[0]) == 'd');

    close(p[0]);
    close(p[1]);
    return t_finish("test-watch");
}
