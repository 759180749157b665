# bench/allocators.sh - sourced by every bench script that runs the peers (run.sh,
# jvm/run.sh, suite/run.sh, oversub.sh, callgrind-cost.sh): each peer's Debian package and
# library, their installation, hz3's build, and the check that a run used the allocator it was
# given. The sourcing script defines die (prints its own name and the message, exits 1) and
# REPO_ROOT, HZ3_LIB and HZ3_BUILD.

# Prints the Debian package of peer $1; fails for anything that is not a peer.
peer_pkg() {
    case $1 in
        jemalloc) echo libjemalloc2 ;;
        mimalloc) echo libmimalloc2.0 ;;
        tcmalloc) echo libtcmalloc-minimal4 ;;
        *) return 1 ;;
    esac
}

# Installs the packages of the peers among "$@" that are missing (apt-get, as root only: apt is
# slow and may be locked by other work, so nothing already there is touched).
install_peers() {
    local a pkg missing=()
    for a; do
        pkg=$(peer_pkg "$a") || continue
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]} > 0)) || return 0
    ((EUID == 0)) || die "missing packages ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}"
    printf '%s: installing %s\n' "${0##*/}" "${missing[*]}" >&2
    # The package lists may be absent on a fresh machine; update them first.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Prints the library to preload for allocator $1 (nothing for glibc): a peer's from its Debian
# package (asking dpkg rather than naming the multiarch directory), hz3's from $HZ3_LIB.
lib_of() {
    local pkg re
    case $1 in
        glibc) return 0 ;;
        hz3) echo "$HZ3_LIB" && return 0 ;;
        jemalloc) re='/libjemalloc\.so\.2$' ;;
        mimalloc) re='/libmimalloc\.so\.2$' ;;
        tcmalloc) re='/libtcmalloc_minimal\.so\.4$' ;;
        *) die "unknown allocator '$1' (known: glibc jemalloc mimalloc tcmalloc hz3)" ;;
    esac
    pkg=$(peer_pkg "$1")
    dpkg -L "$pkg" 2>/dev/null | grep -E "$re" | head -n 1 ||
        die "no $1 library: install it (apt-get install $pkg) or leave it out of ALLOCATORS"
}

# Fills the caller's associative array LIB with the library to preload for each allocator of
# "$@" (glibc: none; hz3 and hz3-sampled: $HZ3_LIB, see hz3_built), installing missing peers.
fill_libs() {
    install_peers "$@"
    local a
    for a; do
        case $a in
            hz3-sampled) LIB[$a]=$HZ3_LIB ;;
            *) LIB[$a]=$(lib_of "$a") || exit 1 ;; # lib_of said why
        esac
    done
}

# Builds hz3 first when HZ3_BUILD=1; fails when $HZ3_LIB is not there (the caller says what
# that means for its run: an error, or a table without hz3).
hz3_built() {
    if [[ $HZ3_BUILD == 1 && -f $REPO_ROOT/native-hz3/Makefile ]]; then
        printf '%s: building hz3 (make -C native-hz3); set HZ3_BUILD=0 to skip\n' "${0##*/}" >&2
        make -s -C "$REPO_ROOT/native-hz3" >&2 || die "building hz3 failed; fix it, or run with HZ3_BUILD=0"
    fi
    [[ -f $HZ3_LIB ]]
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
