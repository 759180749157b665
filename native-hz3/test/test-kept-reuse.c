/*
 * test-kept-reuse.c: a thread that moves on from one small size to another
 * reuses the empty spans it kept for the first (src/span.c,
 * take_kept_of_other), rather than holding them beside new pages from the
 * pool; the census counts each span in its new class, exactly.
 *
 * Eight spans' worth of 64 B blocks (one page each) are made and freed in
 * order: the spans of all but the last 128 (the block cache's, which it
 * sends home by the remote path) are kept empty. Then three spans' worth of
 * 112 B blocks (one page each too): their pages are kept ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

enum { PAGE = 4096, FIRST = 64, SECOND = 112, FIRST_N = 8 * (PAGE / FIRST), SECOND_N = 3 * (PAGE / SECOND) };
static void *first[FIRST_N], *second[SECOND_N];

static bool among_first_pages(const void *p)
{
    for (int i = 0; i < FIRST_N; i++)
        if ((uintptr_t)first[i] / PAGE == (uintptr_t)p / PAGE) return true;
    return false;
}

int main(void)
{
    const t_hz3_api *hz = t_hz3();
    /* Only this test's epochs, and no purge: the kept spans stay kept. */
    CHECK(hz->config_set("epoch_interval_ms", 0) == 0);
    CHECK(hz->config_set("purge_delay_ms", 3600000) == 0);
    static struct hz3_snapshot before, kept, after;
    t_snapshot(&before);
    int c1 = t_class_of(&before, FIRST), c2 = t_class_of(&before, SECOND);
    CHECK(c1 >= 0 && c2 >= 0 && c1 != c2);
    if (c1 < 0 || c2 < 0) return t_finish("test-kept-reuse");
    CHECK_MSG(before.classes[c1].span_pages == 1 && before.classes[c2].span_pages == 1, "span pages %u and %u, expected 1",
              before.classes[c1].span_pages, before.classes[c2].span_pages);
    CHECK_MSG(t_class_pages(&before, c2) == 0, "class of %d B in use before the test", SECOND);

    for (int i = 0; i < FIRST_N; i++) memset(first[i] = malloc(FIRST), 1, FIRST);
    for (int i = 0; i < FIRST_N; i++) free(first[i]);
    hz->epoch_force();   /* the block cache's blocks go home */
    t_snapshot(&kept);
    uint64_t first_pages = t_class_pages(&kept, c1);
    CHECK_MSG(first_pages >= 8, "%llu pages of %d B blocks after the frees, expected at least 8",
              (unsigned long long)first_pages, FIRST);

    int reused = 0;
    for (int i = 0; i < SECOND_N; i++) {
        memset(second[i] = malloc(SECOND), 2, SECOND);
        reused += among_first_pages(second[i]);
    }
    /* Every 112 B block sits on a page the 64 B blocks had: three of the
     * kept spans, one page each, hold three spans' worth. */
    CHECK_MSG(reused == SECOND_N, "%d of %d blocks of %d B on the pages of the %d B ones", reused, SECOND_N, SECOND, FIRST);
    t_snapshot(&after);
    CHECK_MSG(t_class_pages(&after, c2) == 3, "%llu pages in the class of %d B, expected 3",
              (unsigned long long)t_class_pages(&after, c2), SECOND);
    CHECK_MSG(t_class_pages(&after, c1) == first_pages - 3, "%llu pages in the class of %d B, expected %llu",
              (unsigned long long)t_class_pages(&after, c1), FIRST, (unsigned long long)(first_pages - 3));
    CHECK_MSG(after.classes[c2].live_objects == SECOND_N, "live %llu, expected %d",
              (unsigned long long)after.classes[c2].live_objects, SECOND_N);
    CHECK(after.classes[c2].capacity_objects == 3 * (PAGE / SECOND));

    for (int i = 0; i < SECOND_N; i++) free(second[i]);
    CHECK(t_free_aborts(second[0]));   /* a block of a reused span is still checked */
    CHECK(hz->validate() == 0);
    return t_finish("test-kept-reuse");
}
