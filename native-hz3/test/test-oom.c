/*
 * test-oom.c: when the kernel refuses memory (a small RLIMIT_AS), malloc
 * and friends return NULL with ENOMEM and the process goes on: freeing
 * makes room, and allocation works again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "test_util.h"

static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %zu kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb << 10;
}

int main(void)
{
    t_hz3();
    struct rlimit lim = { vm_size() + (48u << 20), RLIM_INFINITY };
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0);

    errno = 0;
    CHECK(malloc((size_t)256 << 20) == NULL && errno == ENOMEM);   /* large: mmap refused */

    /* Fill with medium objects until refused; segments need new reservations. */
    enum { MAX = 100000 };
    static void *v[MAX];
    size_t n = 0;
    while (n < MAX && (v[n] = malloc(20000)) != NULL) n++;
    CHECK_MSG(n > 0 && n < MAX, "allocated %zu objects before refusal", n);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(calloc(1, 30000) == NULL || errno == 0);
    void *al = NULL;
    int rc = posix_memalign(&al, 1 << 16, 1 << 20);
    CHECK(rc == ENOMEM || rc == 0);
    free(al);

    for (size_t i = 0; i < n; i++) free(v[i]);
    void *again = malloc(20000);
    CHECK(again != NULL);
    free(again);
    void *small = malloc(100);
    CHECK(small != NULL);
    free(small);
    return t_finish("test-oom");
}
