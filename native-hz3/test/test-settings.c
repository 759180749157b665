/*
 * test-settings.c: bad values of HZ3_* settings as hostile input. Each case
 * starts this program again with one setting in its environment; the hz3
 * line on stderr must be exactly one line, the value quoted with its
 * control characters escaped and cut after a bounded length, marked so.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_util.h"

static char err[262144];

/* Runs this program with env; checks one line, starting "hz3: ignoring",
 * containing want, at most max_len bytes; returns that line. */
static void expect_one_line(const char *label, char *env, const char *want, size_t max_len)
{
    static char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) exit(2);
    self[len] = 0;
    char *args[] = { self, "child", NULL };
    char *envv[] = { env, NULL };
    int st = t_run(args, envv, err, sizeof err);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "[%s] status %#x", label, st);
    size_t n = strlen(err), lines = 0;
    for (size_t i = 0; i < n; i++) lines += err[i] == '\n';
    CHECK_MSG(lines == 1 && n > 0 && err[n - 1] == '\n', "[%s] %zu lines: %.300s", label, lines, err);
    CHECK_MSG(!strncmp(err, "hz3: ignoring ", 14), "[%s] %.300s", label, err);
    CHECK_MSG(strstr(err, want) != NULL, "[%s] expected '%s' in: %.300s", label, want, err);
    CHECK_MSG(n <= max_len, "[%s] line of %zu bytes", label, n);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "child")) return 0;

    /* a newline: no second line, and no forged "hz3:" line start */
    expect_one_line("newline", "HZ3_ON_ERROR=warn\nhz3: free(0x1): forged", "HZ3_ON_ERROR='warn\\nhz3: free(0x1): forged'",
                    300);
    /* other control characters, a quote and a backslash */
    expect_one_line("control", "HZ3_OBS=\r\x1b[2J'\\", "HZ3_OBS='\\x0d\\x1b[2J\\'\\\\'", 300);
    /* 100,000 characters: cut, and said to be cut */
    static char big[100100];
    int n = snprintf(big, sizeof big, "HZ3_PURGE_DELAY_MS=");
    memset(big + n, '7', 100000);
    big[n + 100000] = 0;
    expect_one_line("long", big, "7777777'...(100000 bytes, cut)", 400);
    return t_finish("test-settings");
}
