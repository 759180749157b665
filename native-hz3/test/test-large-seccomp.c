/*
 * test-large-seccomp.c: a process whose seccomp filter kills on
 * process_madvise survives hz3 giving a large extent back.
 *
 * hz3 zaps a freed extent's resident pages with one process_madvise call
 * (large_decommit.c). That call is new (Linux 5.10, on ourselves 6.15): a
 * sandbox's filter that allows a list of known calls and kills on the rest
 * (SECCOMP_RET_KILL_PROCESS, as a browser's or a container's may) would kill
 * the process at its first large decommit, where plain madvise is allowed.
 * A child installs such a filter on itself (a raw BPF program: no
 * libseccomp), after one decommit made without it, so that a check made
 * once at start-up would not do; then frees an extent over the cache's
 * bound (80 MiB with nothing live: the bound is 64 MiB, test-large.c),
 * which free() gives back at once. The child must exit normally with the
 * extent's pages gone; the parent reads how it ended.
 */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_util.h"

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#define MIB ((size_t)1 << 20)

/* Kills the process on process_madvise, allows every other call. */
static int forbid_process_madvise(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_madvise, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { sizeof code / sizeof code[0], code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* Frees an 80 MiB object with a page written in every MiB: the cache is
 * over its bound, so free() decommits it. Returns its resident pages after
 * the free (0 when given back), or -1 when mincore refuses. */
static long decommit_one(void)
{
    size_t n = 80 * MIB;
    unsigned char *a = malloc(n);
    if (!a) return -1;
    size_t extent = malloc_usable_size(a) + 64;
    for (size_t off = 0; off < n; off += MIB) a[off] = 0x5a;
    free(a);
    return t_resident_pages(a - 64, extent);
}

static void survives_filter(void)
{
    t_hz3()->purge_now();
    pid_t pid = fork();
    if (pid == 0) {
        if (decommit_one() != 0) _exit(3);
        if (forbid_process_madvise() != 0) _exit(4);
        _exit(decommit_one() == 0 ? 0 : 5);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child %s %d (3: first extent kept, 4: no filter, 5: extent kept under the filter)",
              WIFSIGNALED(st) ? "was killed by signal" : "exited with", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

int main(void)
{
    /* Only the test's own epochs. */
    CHECK(t_hz3()->config_set("epoch_interval_ms", 0) == 0);
    CHECK(t_hz3()->config_set("purge_delay_ms", 3600000) == 0);
    survives_filter();
    return t_finish("test-large-seccomp");
}
