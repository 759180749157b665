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
    hz3_epoch_totals_t et;
    _hz3_epoch_totals(&et);
    st.epochs = et.epochs;
    st.pages_purged = et.pages_purged;
    st.madvise_calls = et.madvise_calls;
    st.segments_unmapped = et.segments_unmapped;
    *out = st;
    return 0;
}

HZ3_EXPORT size_t hz3_mappings(uint64_t *start_end, size_t max_pairs)
{
    size_t n = _hz3_pool_mappings(start_end, max_pairs);
    size_t filled = n < max_pairs ? n : max_pairs;
    size_t m = _hz3_large_mappings(start_end + 2 * filled, max_pairs - filled);
    filled += m < max_pairs - filled ? m : max_pairs - filled;
    return n + m + _hz3_meta_mappings(start_end + 2 * filled, max_pairs - filled);
}

HZ3_EXPORT int hz3_owns(const void *p)
{
    return _hz3_pool_owns((uintptr_t)p) || _hz3_large_owns((uintptr_t)p);
}

HZ3_EXPORT int hz3_obs_snapshot(struct hz3_snapshot *out)
{
    if (!out || out->size < sizeof *out) return -1;
    _hz3_epoch_run(HZ3_EPOCH_SNAPSHOT, out);
    return 0;
}

HZ3_EXPORT uint64_t hz3_epoch_force(void)
{
    return _hz3_epoch_run(HZ3_EPOCH_FORCED, NULL);
}

HZ3_EXPORT uint64_t hz3_purge_now(void)
{
    uint64_t before = _hz3_purged_pages_total();
    _hz3_epoch_run(HZ3_EPOCH_PURGE, NULL);
    return _hz3_purged_pages_total() - before;
}

HZ3_EXPORT int hz3_obs_set_listener(hz3_listener_fn fn, void *ctx)
{
    return _hz3_set_listener(fn, ctx);
}

HZ3_EXPORT int hz3_config_set(const char *name, int64_t value)
{
    _hz3_ensure_init();
    return _hz3_setting_set(name, value);
}

HZ3_EXPORT int64_t hz3_config_get(const char *name)
{
    _hz3_ensure_init();
    return _hz3_setting_get(name);
}
