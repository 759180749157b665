# Shared by bench/suite/run.sh and bench/oversub.sh: medians of repetitions and the table of
# each allocator's median relative to the best one's, with a geometric-mean row. The calling
# program fills arr[phase, workload, allocator, rep] and cnt[phase, workload, allocator], and
# sets na, A[] (allocators) and nw, W[] (workloads) before calling table().

function median(arr, k, n,    v, i, j, x) {
    for (i = 1; i <= n; i++) {
        x = arr[k, i]
        for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]
        v[j + 1] = x
    }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

# A run that took no measurable time counts as a thousandth, so that a ratio and its log exist.
function positive(x) { return x > 0 ? x : 0.001 }

function table(title, phase, arr, unit, fmt,    i, j, w, k, best, med, r, logsum) {
    printf "%s\n\n| workload | best %s |", title, unit
    for (j = 1; j <= na; j++) printf " %s |", A[j]
    printf "\n|---|---:|"
    for (j = 1; j <= na; j++) printf "---:|"
    print ""
    for (i = 1; i <= nw; i++) {
        w = W[i]; best = 0
        for (j = 1; j <= na; j++) {
            k = phase SUBSEP w SUBSEP A[j]
            med[A[j]] = positive(median(arr, k, cnt[k]))
            if (best == 0 || med[A[j]] < best) best = med[A[j]]
        }
        printf "| %s | " fmt " |", w, best
        for (j = 1; j <= na; j++) {
            r = med[A[j]] / best
            logsum[A[j]] += log(r)
            printf " %.2f |", r
        }
        print ""
    }
    printf "| **geometric mean** | |"
    for (j = 1; j <= na; j++) printf " **%.2f** |", exp(logsum[A[j]] / nw)
    print "\n"
}
