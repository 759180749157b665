/*
 * api.c: the hz3_* functions of include/hz3.h.
 */
#include <string.h>
#include "hz3_internal.h"

HZ3_EXPORT const char *hz3_version(void)
{
    return HZ3_VERSION_STRING;
}

HZ3_EXPORT int hz3_stats_get(struct hz3_stats *out)
{
    if (!out || out->size < sizeof *out) return -1;
    struct hz3_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    st.version = HZ3_STATS_VERSION;
    _hz3_pool_stats(&st);
    _hz3_large_stats(&st);
    _hz3_heaps_stats(&st);
    st.meta_bytes = _hz3_meta_bytes() + sizeof _hz3_segmap;
    *out = st;
    return 0;
}

HZ3_EXPORT size_t hz3_mappings(uint64_t *start_end, size_t max_pairs)
{
    size_t n = _hz3_pool_mappings(start_end, max_pairs, 0);
    size_t filled = n < max_pairs ? n : max_pairs;
    return n + _hz3_large_mappings(start_end + 2 * filled, max_pairs - filled, 0);
}

HZ3_EXPORT int hz3_owns(const void *p)
{
    return _hz3_pool_owns((uintptr_t)p) || _hz3_large_owns((uintptr_t)p);
}
