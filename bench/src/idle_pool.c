/*
 * idle_pool: what a pool of threads holds once its work is done and it
 * waits for more, as a JVM's executor threads do between bursts.
 *
 *   idle_pool [THREADS [ROUNDS [LIVE [MIN [MAX [IDLE_MS]]]]]]
 *              (200     50       64     4096 32768 2000)
 *
 * Each thread makes LIVE objects of MIN..MAX bytes (written whole, as a
 * buffer is), frees them, ROUNDS times, then waits on a barrier with the
 * others. Nothing is live once they all wait; what the process is still
 * resident for is its stacks and what its malloc keeps: the per-thread
 * caches of idle threads, which no allocator's own thread can reach while
 * their owners sleep. The main thread prints VmRSS before the threads
 * start, when all are idle, and IDLE_MS later (a malloc with a timer may
 * give some back meanwhile):
 *   RESULT bench=idle_pool threads=.. rss_before_kb=.. rss_idle_kb=.. rss_later_kb=..
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned rounds = 50, live = 64;
static size_t min_size = 4096, max_size = 32768;
static pthread_barrier_t idle, quit;

static void *worker(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
    void **p = calloc(live, sizeof *p);
    for (unsigned r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < live; i++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            size_t size = min_size + (size_t)(seed % (max_size - min_size + 1));
            p[i] = malloc(size);
            if (p[i]) memset(p[i], (int)i, size);
        }
        for (unsigned i = 0; i < live; i++) free(p[i]);
    }
    free(p);
    pthread_barrier_wait(&idle);
    pthread_barrier_wait(&quit);
    return NULL;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
    if (argc > 2) rounds = (unsigned)atoi(argv[2]);
    if (argc > 3) live = (unsigned)atoi(argv[3]);
    if (argc > 4) min_size = (size_t)atol(argv[4]);
    if (argc > 5) max_size = (size_t)atol(argv[5]);
    long idle_ms = argc > 6 ? atol(argv[6]) : 2000;
    if (threads < 1 || threads > 4096 || live < 1 || min_size < 1 || max_size < min_size || idle_ms < 0) {
        fprintf(stderr, "usage: idle_pool [THREADS 1..4096 [ROUNDS [LIVE>=1 [MIN>=1 [MAX>=MIN [IDLE_MS>=0]]]]]]\n");
        return 2;
    }
    pthread_t *t = calloc(threads, sizeof *t);
    pthread_barrier_init(&idle, NULL, threads + 1);
    pthread_barrier_init(&quit, NULL, threads + 1);
    long before = rss_kb();
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) != 0) {
            fprintf(stderr, "idle_pool: pthread_create failed at thread %u\n", i);
            return 1;
        }
    }
    pthread_barrier_wait(&idle);
    long at_idle = rss_kb();
    struct timespec ts = { idle_ms / 1000, (idle_ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    long later = rss_kb();
    printf("RESULT bench=idle_pool threads=%u rounds=%u live=%u min=%zu max=%zu idle_ms=%ld rss_before_kb=%ld "
           "rss_idle_kb=%ld rss_later_kb=%ld\n",
           threads, rounds, live, min_size, max_size, idle_ms, before, at_idle, later);
    pthread_barrier_wait(&quit);
    for (unsigned i = 0; i < threads; i++) pthread_join(t[i], NULL);
    free(t);
    return 0;
}
