/*
 * test-grow.c: no fixed cap. Allocating well past the first reservation
 * makes hz3 reserve more address space; every object stays usable.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

int main(void)
{
    struct hz3_stats before = t_stats();
    uint64_t first = before.reserved_bytes ? before.reserved_bytes : (64u << 20);
    size_t obj = 30000, n = (size_t)(3 * first / obj) + 1;   /* three reservations' worth */
    char **v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i] = malloc(obj);
        CHECK_MSG(v[i] != NULL, "object %zu", i);
        if (!v[i]) break;
        v[i][0] = (char)i;
        v[i][obj - 1] = (char)(i >> 8);
    }
    struct hz3_stats mid = t_stats();
    CHECK_MSG(mid.reservations > before.reservations + 1, "reservations %llu -> %llu",
              (unsigned long long)before.reservations, (unsigned long long)mid.reservations);
    bool intact = true;
    for (size_t i = 0; i < n && v[i]; i++) intact &= v[i][0] == (char)i && v[i][obj - 1] == (char)(i >> 8);
    CHECK(intact);
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
    malloc_trim(0);   /* no purge delay: wholly free segments go back now */
    struct hz3_stats after = t_stats();
    CHECK_MSG(after.segments_active <= 2, "segments still active after freeing all: %llu",
              (unsigned long long)after.segments_active);
    return t_finish("test-grow");
}
