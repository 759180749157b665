/*
 * test-wrong.c: deliberate misuse. Each case runs in a child process (this
 * program re-executed with the case name); the parent checks the one line
 * hz3 writes (function, pointer, problem, caller in this program) and the
 * ending: SIGABRT by default, a clean exit with HZ3_ON_ERROR=warn.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_util.h"

static int global_object;

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
    } else if (!strcmp(name, "double-medium")) {
        p = malloc(10000);
        printf("%p\n", (void *)p);
        fflush(stdout);
        free(p);
        free(p);
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
