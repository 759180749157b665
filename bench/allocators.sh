# bench/allocators.sh - sourced by bench/suite/run.sh and bench/oversub.sh: where each
# allocator's library is, and the check that a run used the one it was given. The sourcing
# script defines die (prints its own name and the message, exits 1).

# Prints the library to preload for allocator $1 (nothing for glibc); the peers come from
# their Debian packages, as in bench/run.sh; hz3 from $HZ3_LIB.
lib_of() {
    local pkg re
    case $1 in
        glibc) return 0 ;;
        hz3) echo "$HZ3_LIB" && return 0 ;;
        jemalloc) pkg=libjemalloc2 re='/libjemalloc\.so\.2$' ;;
        mimalloc) pkg=libmimalloc2.0 re='/libmimalloc\.so\.2$' ;;
        tcmalloc) pkg=libtcmalloc-minimal4 re='/libtcmalloc_minimal\.so\.4$' ;;
        *) die "unknown allocator '$1' (known: glibc jemalloc mimalloc tcmalloc hz3)" ;;
    esac
    dpkg -L "$pkg" 2>/dev/null | grep -E "$re" | head -n 1 ||
        die "no $1 library: install it (apt-get install $pkg) or leave it out of ALLOCATORS"
}

# Dies unless the output $3 of workload $1's run says that allocator $2 served its mallocs
# (bench_report_malloc's MALLOC= and MALLOC_SYMBOL_FROM= lines): a silently ignored preload
# would make the whole table meaningless.
check_allocator() {
    local seen from want
    seen=$(sed -n 's/^MALLOC=//p' <<<"$3")
    from=$(sed -n 's/^MALLOC_SYMBOL_FROM=//p' <<<"$3")
    if [[ $2 == glibc ]]; then want=/libc.so; else want=/lib$2; fi
    [[ $seen == "$2" && $from == *"$want"* ]] ||
        die "$1: expected allocator $2, the process reported MALLOC=$seen from $from"
}
