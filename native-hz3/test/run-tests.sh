#!/usr/bin/env bash
# Runs every C test the way a user runs hz3: preloaded. Each test prints
# "N passed, N failed"; this prints the totals the same way and fails if
# any test failed. Argument: the build directory (target).
set -uo pipefail
# Each test names its allocator itself: hz3 (release or debug) through
# LD_PRELOAD below, or none (tsan-stress, whose ThreadSanitizer runtime must
# keep its own malloc and dies on an interposed one). An inherited LD_PRELOAD
# (a user building under hz3, or under anything else) is dropped whole, not
# just its hz3 entries: any preloaded library would change what a test runs on.
unset LD_PRELOAD
out=${1:-target}
here=$(cd "$(dirname "$0")/.." && pwd)
release=$here/$out/lib/libhz3.so
debug=$here/$out/lib/libhz3-debug.so
passed=0 failed=0

run() {   # run NAME CMD...: counts a test by its exit status
    local name=$1; shift
    local start=$SECONDS
    "$@"
    local status=$?
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1)); echo "PASS $name ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1)); echo "FAIL $name (exit $status)"
    fi
}

for t in "$here/$out"/test/test-*; do
    name=$(basename "$t")
    run "$name" env LD_PRELOAD="$release" "$t"
done
# The same behaviour from the debug build (no optimisation), which also runs
# the invariant walker over every segment at the end of every epoch.
run "test-api [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-api"
run "test-stress [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-stress" 4 1 2
run "test-census [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-census"
run "test-purge [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-purge"
run "test-threads [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-threads"
run "test-wrong [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-wrong"
run "test-purge-idle [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-purge-idle"
run "test-consistent [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-consistent"
run "test-large [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-large"
run "test-sampling [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-sampling"
# The same behaviour with allocation sampling on (one sample per 4 KiB):
# spans holding samples send their frees down the generic path.
run "test-stress [sampling]" env LD_PRELOAD="$debug" HZ3_SAMPLE_BYTES=4096 "$here/$out/test/test-stress" 4 1 2
run "test-wrong [sampling]" env LD_PRELOAD="$release" HZ3_SAMPLE_BYTES=4096 "$here/$out/test/test-wrong"
run "test-census [sampling]" env LD_PRELOAD="$release" HZ3_SAMPLE_BYTES=4096 "$here/$out/test/test-census"
run "test-remote [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-remote"
# Two segment slots (libhz3-slots1.so): most segments share one, and their
# frees take free's out-of-line path through the segment map.
run "test-wrong [slots]" env LD_PRELOAD="$here/$out/lib/libhz3-slots1.so" "$here/$out/test/test-wrong"
run "test-stress [slots]" env LD_PRELOAD="$here/$out/lib/libhz3-slots1.so" "$here/$out/test/test-stress" 4 1 2
run "test-remote [slots]" env LD_PRELOAD="$here/$out/lib/libhz3-slots1.so" "$here/$out/test/test-remote"
run "test-single-purge [debug]" env LD_PRELOAD="$debug" "$here/$out/test/test-single-purge"
# ThreadSanitizer: hz3 under prefixed names, TSan's malloc left in charge.
run "tsan-stress" env TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$here/$out/test/tsan-stress" 4 1 1
run "tsan-stress [sampling]" env HZ3_SAMPLE_BYTES=4096 TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$here/$out/test/tsan-stress" 4 1 1
run "tsan-single-purge" env TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$here/$out/test/tsan-single-purge"
run "test-exports" "$here/test/test-exports.sh" "$release"

echo "native-hz3: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
