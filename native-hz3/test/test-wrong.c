/*
 * test-wrong.c: deliberate misuse. Each case runs in a child process (this
 * program re-executed with the case name); the parent checks the one line
 * hz3 writes (function, pointer, problem, caller in this program) and the
 * ending: SIGABRT by default, a clean exit with HZ3_ON_ERROR=warn (where
 * the double-free cases also check that the mallocs after the ignored free
 * hand out distinct objects: nothing was corrupted).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_util.h"

static int global_object;

/* The mallocs after an ignored double free (HZ3_ON_ERROR=warn): three of the
 * same size, which must be three different objects. */
static bool next_mallocs_distinct(size_t size)
{
    char *x = malloc(size), *y = malloc(size), *z = malloc(size);
    bool ok = x && y && z && x != y && y != z && x != z;
    free(x);
    free(y);
    free(z);
    return ok;
}

/* A double free that is not the latest free: free(a); free(b); free(a). */
static bool double_not_latest(size_t size)
{
    char *a = malloc(size), *b = malloc(size);
    printf("%p\n", (void *)a);
    fflush(stdout);
    free(a);
    free(b);
    free(a);
    return next_mallocs_distinct(size);
}

/* Cross-thread cases: the object is made by the main thread (its owner)
 * and freed twice as the case says; the main thread waits in join. */
static char *xt_a, *xt_b;
static void *xt_free_both_twice(void *arg)   /* remote, remote, remote again */
{
    free(xt_a);
    free(xt_b);
    free(xt_a);
    return NULL;
}
static void *xt_free_a(void *arg)
{
    free(xt_a);
    return NULL;
}
/* The second free while the first one waits in the freeing thread's remote
 * batch (that thread is parked, so nothing pushes the batch meanwhile). */
static pthread_barrier_t xt_freed, xt_go;
static void *xt_free_a_and_park(void *arg)
{
    free(xt_a);
    pthread_barrier_wait(&xt_freed);
    pthread_barrier_wait(&xt_go);
    return NULL;
}
static void *xt_free_arg(void *p)
{
    free(p);
    return NULL;
}

/* "single-" before how: objects of 20 KiB, one per span, which a free
 * from another thread takes into that thread's cache. */
static bool double_cross_thread(const char *how)
{
    size_t size = 64;
    if (!strncmp(how, "single-", 7)) {
        size = 20000;
        how += 7;
    }
    xt_a = malloc(size);
    xt_b = malloc(size);
    printf("%p\n", (void *)xt_a);
    fflush(stdout);
    pthread_t t;
    if (!strcmp(how, "remote")) {            /* another thread frees it twice */
        pthread_create(&t, NULL, xt_free_both_twice, NULL);
        pthread_join(t, NULL);
    } else if (!strcmp(how, "owner-then-remote")) {
        free(xt_a);
        free(xt_b);
        pthread_create(&t, NULL, xt_free_a, NULL);
        pthread_join(t, NULL);
    } else if (!strcmp(how, "batched")) {    /* the owner, while the remote free is batched */
        pthread_barrier_init(&xt_freed, NULL, 2);
        pthread_barrier_init(&xt_go, NULL, 2);
        pthread_create(&t, NULL, xt_free_a_and_park, NULL);
        pthread_barrier_wait(&xt_freed);
        free(xt_a);
        pthread_barrier_wait(&xt_go);
        pthread_join(t, NULL);
    } else {                                 /* remote, then the owner */
        pthread_create(&t, NULL, xt_free_a, NULL);
        pthread_join(t, NULL);
        free(xt_b);
        free(xt_a);
    }
    return next_mallocs_distinct(size);
}

/* The pointer just past a 20 KiB object (one per span of 5 pages), onto
 * the next page: free there ("free"), or the span of another such object
 * freed already ("kept"); from the owner or from another thread
 * ("-remote"). The pointer goes out with write: a printf would malloc
 * stdout's buffer, maybe on that very page. */
static char *past_p;
static void *free_past_p(void *arg)   /* started before the object: pthread_create mallocs */
{
    pthread_barrier_wait(&xt_go);
    free(past_p);
    return NULL;
}
static char *past_single(const char *how)
{
    bool remote = strstr(how, "-remote") != NULL;
    pthread_t t;
    if (remote) {
        pthread_barrier_init(&xt_go, NULL, 2);
        pthread_create(&t, NULL, free_past_p, NULL);
    }
    char *o = malloc(20000);
    char *p = o + malloc_usable_size(o);
    if (!strncmp(how, "kept", 4)) {
        char *q = malloc(20000);
        if (q != p) return NULL;
        free(q);
    }
    char line[64];
    int n = snprintf(line, sizeof line, "%p\n", (void *)p);
    if (write(1, line, (size_t)n) != n) return NULL;
    if (remote) {
        past_p = p;
        pthread_barrier_wait(&xt_go);
        pthread_join(t, NULL);
    } else {
        free(p);
    }
    return p;
}

/* Runs one case in this process; prints the pointer it misuses. */
static int run_case(const char *name)
{
    char *p = NULL;
    if (!strcmp(name, "stack")) {
        char local[32];
        p = local;
        printf("%p\n", (void *)p);
        fflush(stdout);
        free(p);
    } else if (!strcmp(name, "global")) {
        p = (char *)&global_object;
        printf("%p\n", (void *)p);
        fflush(stdout);
        free(p);
    } else if (!strcmp(name, "mmap")) {
        p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("%p\n", (void *)(p + 64));
        fflush(stdout);
        free(p + 64);
    } else if (!strcmp(name, "interior")) {
        char *o = malloc(64);
        p = o + 16;
        printf("%p\n", (void *)p);
        fflush(stdout);
        free(p);
    } else if (!strcmp(name, "interior-large")) {
        char *o = malloc(100000);
        p = o + 4096;
        printf("%p\n", (void *)p);
        fflush(stdout);
        free(p);
    } else if (!strcmp(name, "interior-huge")) {
        char *o = malloc(3 << 20);
        p = o + 8192;
        printf("%p\n", (void *)p);
        fflush(stdout);
        free(p);
    } else if (!strcmp(name, "double")) {
        p = malloc(48);
        printf("%p\n", (void *)p);
        fflush(stdout);
        free(p);
        free(p);
    } else if (!strncmp(name, "never-handed-out-", 17)) {
        /* The block after the first one of a fresh span: carved onto the
         * free list (small) or not carved yet (medium up to 16 KiB, where
         * spans hold more than one), never handed out; "-remote": freed by
         * another thread, whose free path checks it from the page's tag. */
        size_t n = !strcmp(name + 17, "small") ? 48 : 12000;
        char *o = malloc(n);
        p = o + malloc_usable_size(o);
        printf("%p\n", (void *)p);
        fflush(stdout);
        if (!strcmp(name + 17, "medium-remote")) {
            pthread_t t;
            pthread_create(&t, NULL, xt_free_arg, p);
            pthread_join(t, NULL);
        } else {
            free(p);
        }
    } else if (!strncmp(name, "past-single-", 12)) {
        if (!(p = past_single(name + 12))) return 7;
    } else if (!strcmp(name, "double-medium")) {
        p = malloc(10000);
        printf("%p\n", (void *)p);
        fflush(stdout);
        free(p);
        free(p);
    } else if (!strncmp(name, "double-not-latest-", 18)) {
        static const struct { const char *tier; size_t size; } sizes[] = {
            { "small", 48 }, { "sub4k", 2000 }, { "sub4k-single", 3500 }, { "medium", 10000 },
            { "medium-single", 20000 }, { "run", 100000 }, { "large", 3 << 20 },
        };
        size_t i = 0;
        while (i < sizeof sizes / sizeof sizes[0] && strcmp(name + 18, sizes[i].tier)) i++;
        if (i == sizeof sizes / sizeof sizes[0]) return 9;
        if (!double_not_latest(sizes[i].size)) return 6;
    } else if (!strncmp(name, "double-thread-", 14)) {
        if (!double_cross_thread(name + 14)) return 6;
    } else if (!strcmp(name, "realloc-stack")) {
        char local[32];
        p = local;
        printf("%p\n", (void *)p);
        fflush(stdout);
        if (realloc(p, 100) != NULL) return 5;
    } else if (!strcmp(name, "usable-interior")) {
        char *o = malloc(200);
        p = o + 8;
        printf("%p\n", (void *)p);
        fflush(stdout);
        if (malloc_usable_size(p) != 0) return 5;
    } else {
        return 9;
    }
    /* only reached with HZ3_ON_ERROR=warn: the process goes on */
    void *q = malloc(100);
    free(q);
    fprintf(stderr, "continued\n");
    return 0;
}

struct expect { const char *name, *fn, *problem; };

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "case")) return run_case(argv[2]);

    static const struct expect cases[] = {
        { "stack", "free", "not allocated by hz3" },
        { "global", "free", "not allocated by hz3" },
        { "mmap", "free", "not allocated by hz3" },
        { "interior", "free", "not the start of an object" },
        { "interior-large", "free", "not the start of an object" },
        { "interior-huge", "free", "not the start of an object" },
        { "double", "free", "double free" },
        { "double-medium", "free", "double free" },
        { "never-handed-out-small", "free", "double free" },
        { "never-handed-out-medium", "free", "not a live object" },
        { "never-handed-out-medium-remote", "free", "not a live object" },
        { "double-not-latest-small", "free", "double free" },
        { "double-not-latest-sub4k", "free", "double free" },
        { "double-not-latest-sub4k-single", "free", "double free" },
        { "double-not-latest-medium", "free", "double free" },
        { "double-not-latest-medium-single", "free", "double free" },
        { "double-not-latest-run", "free", "double free" },
        { "double-not-latest-large", "free", "double free" },
        { "double-thread-remote", "free", "double free" },
        { "double-thread-owner-then-remote", "free", "double free" },
        { "double-thread-remote-then-owner", "free", "double free" },
        { "double-thread-batched", "free", "double free" },
        { "double-thread-single-remote", "free", "double free" },
        { "double-thread-single-owner-then-remote", "free", "double free" },
        { "double-thread-single-remote-then-owner", "free", "double free" },
        { "past-single-free", "free", "not a live object" },
        { "past-single-free-remote", "free", "not a live object" },
        { "past-single-kept", "free", "double free" },
        { "past-single-kept-remote", "free", "double free" },
        { "realloc-stack", "realloc", "not allocated by hz3" },
        { "usable-interior", "malloc_usable_size", "not the start of an object" },
    };
    static char err[8192], out[256], self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return 2;
    self[len] = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int warn = 0; warn <= 1; warn++) {
            /* stdout of the child (the pointer) goes to a pipe we read */
            int fds[2];
            if (pipe(fds) != 0) return 2;
            int saved = dup(1);
            dup2(fds[1], 1);
            close(fds[1]);
            char *args[] = { self, "case", (char *)cases[i].name, NULL };
            char *env[] = { warn ? "HZ3_ON_ERROR=warn" : "HZ3_ON_ERROR=abort", NULL };
            int st = t_run(args, env, err, sizeof err);
            dup2(saved, 1);
            close(saved);
            ssize_t n = read(fds[0], out, sizeof out - 1);
            close(fds[0]);
            out[n > 0 ? n : 0] = 0;
            out[strcspn(out, "\n")] = 0;

            char want[512];
            snprintf(want, sizeof want, "hz3: %s(%s): %s", cases[i].fn, out, cases[i].problem);
            CHECK_MSG(strstr(err, want) != NULL, "[%s] expected '%s' in: %s", cases[i].name, want, err);
            CHECK_MSG(strstr(err, "called from 0x") && strstr(err, "test-wrong"), "[%s] caller not named: %s",
                      cases[i].name, err);
            /* exactly one line from hz3 */
            int lines = 0;
            for (char *l = strstr(err, "hz3: "); l; l = strstr(l + 1, "hz3: ")) lines++;
            CHECK_MSG(lines == 1, "[%s] %d hz3 lines", cases[i].name, lines);
            if (warn) CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(err, "continued"),
                                "[%s] warn mode: status %#x, %s", cases[i].name, st, err);
            else CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "[%s] status %#x", cases[i].name, st);
        }
    }
    return t_finish("test-wrong");
}
