/*
 * test-fork.c: fork from a parent whose threads allocate and free without
 * pause. Each child allocates in every tier, frees objects the parent made
 * (some of them owned by threads that do not exist in the child), forks a
 * grandchild that does the same, and exits. A deadlock shows as a child
 * that does not exit in time (alarm), and fails the test.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_util.h"

#define SHARED 256
static void *shared[SHARED];           /* made by the workers before forking starts */
static _Atomic int stop;

static void *churn(void *arg)
{
    uint64_t r = (uintptr_t)arg + 5;
    void *slot[64] = { 0 };
    while (!atomic_load(&stop)) {
        unsigned i = (unsigned)(t_rand(&r) % 64);
        free(slot[i]);
        slot[i] = malloc(1 + t_rand(&r) % 40000);
    }
    for (int i = 0; i < 64; i++) free(slot[i]);
    return NULL;
}

static int child_work(int depth)
{
    alarm(20);
    for (int round = 0; round < 200; round++) {
        void *p[4] = { malloc(24), malloc(3000), malloc(20000), malloc(100000) };
        for (int i = 0; i < 4; i++) {
            if (!p[i]) return 3;
            memset(p[i], 1, 24);
            free(p[i]);
        }
    }
    if (depth == 0) {
        for (int i = 0; i < SHARED; i++) free(shared[i]);   /* the workers' objects */
        pid_t g = fork();
        if (g == 0) _exit(child_work(1));
        int st;
        if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 4;
    }
    return 0;
}

int main(void)
{
    pthread_t t[4];
    for (int i = 0; i < SHARED; i++) shared[i] = malloc(16 + (size_t)i * 37);
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)i);
    int ok = 0;
    for (int k = 0; k < 100; k++) {
        pid_t c = fork();
        if (c == 0) _exit(child_work(0));
        int st;
        waitpid(c, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) ok++;
        else fprintf(stderr, "child %d: status %#x\n", k, st);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < SHARED; i++) free(shared[i]);
    CHECK_MSG(ok == 100, "%d of 100 children (each with a grandchild) finished cleanly", ok);
    return t_finish("test-fork");
}
