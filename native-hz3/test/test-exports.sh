#!/usr/bin/env bash
# The dynamic symbols libhz3.so defines are exactly the malloc family and
# the hz3_* API. Keep in sync with: hz3.map, include/hz3.h.
set -euo pipefail
lib=$1
expected="aligned_alloc calloc free hz3_config_get hz3_config_set hz3_debug_validate hz3_epoch_force hz3_mappings hz3_obs_set_listener hz3_obs_snapshot hz3_obs_snapshot_for_report hz3_owns hz3_purge_now hz3_samples_take hz3_sampling_set hz3_sampling_stats_get hz3_site_census hz3_site_rename hz3_site_slot hz3_stats_get hz3_version hz3_watch_fd mallinfo mallinfo2 malloc malloc_info malloc_trim malloc_usable_size mallopt memalign posix_memalign pvalloc realloc reallocarray valloc"
actual=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//')
if [ "$actual" != "$expected" ]; then
    echo "exports differ"; echo "  expected: $expected"; echo "  actual:   $actual"; exit 1
fi
echo "test-exports: 1 passed, 0 failed"
