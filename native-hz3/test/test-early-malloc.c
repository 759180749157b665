/*
 * test-early-malloc.c: mallocs made before hz3's constructor has run get
 * objects of the size they asked for. A library listed after libhz3.so in
 * LD_PRELOAD, or any library the program needs, runs its constructor
 * first; one that starts a thread (pthread_create callocs the thread's
 * 288-byte DTV) was handed a 16-byte block and overran its neighbours,
 * and the next malloc crashed. A program's preinit functions run before
 * every library's constructor, so this test makes its first mallocs there.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

static const struct { size_t size, align; int zero; } asks[] = {
    { 288, 0, 1 }, { 24, 0, 0 }, { 100, 0, 0 }, { 1000, 0, 1 }, { 5000, 0, 0 }, { 200, 64, 0 }, { 40000, 0, 0 },
};
#define N (sizeof asks / sizeof asks[0])
static unsigned char *early[N];

static void first_mallocs(void)
{
    for (size_t i = 0; i < N; i++) {
        if (asks[i].align) early[i] = aligned_alloc(asks[i].align, asks[i].size);
        else if (asks[i].zero) early[i] = calloc(1, asks[i].size);
        else early[i] = malloc(asks[i].size);
    }
}
__attribute__((section(".preinit_array"), used)) static void (*const run_first)(void) = first_mallocs;

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    for (size_t i = 0; i < N; i++) {
        CHECK_MSG(early[i] != NULL, "early malloc %zu of %zu B failed", i, asks[i].size);
        if (!early[i]) continue;
        CHECK_MSG(malloc_usable_size(early[i]) >= asks[i].size, "early malloc of %zu B: %zu usable", asks[i].size,
                  malloc_usable_size(early[i]));
        if (asks[i].align) CHECK((uintptr_t)early[i] % asks[i].align == 0);
        if (asks[i].zero) {
            size_t nonzero = 0;
            for (size_t k = 0; k < asks[i].size; k++) nonzero += early[i][k] != 0;
            CHECK_MSG(nonzero == 0, "early calloc of %zu B: %zu bytes not zero", asks[i].size, nonzero);
        }
    }
    /* Each object filled whole with its own byte keeps it: none overlaps another. */
    for (size_t i = 0; i < N; i++)
        if (early[i]) memset(early[i], (int)(0xa0 + i), asks[i].size);
    for (size_t i = 0; i < N; i++) {
        size_t wrong = 0;
        for (size_t k = 0; early[i] && k < asks[i].size; k++) wrong += early[i][k] != (unsigned char)(0xa0 + i);
        CHECK_MSG(wrong == 0, "early object %zu (%zu B): %zu bytes overwritten by another", i, asks[i].size, wrong);
    }
    /* The heap behind them keeps working. */
    void *later[64];
    for (int i = 0; i < 64; i++) later[i] = malloc(16 + 8 * i);
    for (int i = 0; i < 64; i++) free(later[i]);
    for (size_t i = 0; i < N; i++) free(early[i]);
    CHECK(hz->validate() == 0);
    return t_finish("test-early-malloc");
}
