/*
 * test-go.c: the seed's GO check for an observation build. dist_app (the
 * brief's benchmark loop, section 4) with max 32768 and with max 2048 runs
 * in a child under HZ3_OBS=1; the test requires: no crash, no hang, every
 * report line present once, and the census non-zero where the workload has
 * objects (the child exits with its working set still allocated). A second
 * run writes the report to HZ3_OBS_FILE.PID instead of stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_util.h"

static int dist_app(long iters, unsigned ws, size_t max)
{
    alarm(60);
    void **slot = calloc(ws, sizeof *slot);
    uint64_t r = 0x12345678;
    for (long i = 0; i < iters; i++) {
        unsigned k = (unsigned)(t_rand(&r) % ws);
        if (slot[k]) {
            free(slot[k]);
            slot[k] = NULL;
            continue;
        }
        uint64_t pick = t_rand(&r) % 100;
        size_t lo = 16, hi = 256;
        if (pick >= 80 && pick < 95) lo = 257, hi = 2048;
        else if (pick >= 95) lo = 2049, hi = max;
        if (hi > max) hi = max;
        if (lo > hi) lo = 16, hi = 256;   /* an empty bucket gets no weight */
        slot[k] = malloc(lo + t_rand(&r) % (hi - lo + 1));
    }
    return 0;   /* the working set stays allocated: the report sees it */
}

static long field(const char *report, const char *tag, const char *key)
{
    const char *line = strstr(report, tag);
    if (!line) return -1;
    const char *end = strchr(line, '\n');
    char k[64];
    snprintf(k, sizeof k, " %s=", key);
    const char *f = strstr(line, k);
    if (!f || (end && f > end)) return -1;
    return atol(f + strlen(k));
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "dist_app")) return dist_app(argc > 3 ? atol(argv[3]) : 2000000, 400, (size_t)atol(argv[2]));
    if (argc == 2 && !strcmp(argv[1], "named")) {
        /* an agent names the census the report prints, then the process runs on a little */
        dist_app(200000, 400, 2048);
        static struct hz3_snapshot named;
        int (*for_report)(struct hz3_snapshot *);
        void *sym = dlsym(RTLD_DEFAULT, "hz3_obs_snapshot_for_report");
        memcpy(&for_report, &sym, sizeof for_report);
        named.size = sizeof named;
        if (!for_report || for_report(&named) != 0) return 3;
        fprintf(stderr, "NAMED seq=%llu small_pages=%llu\n", (unsigned long long)named.seq_last,
                (unsigned long long)named.tier[HZ3_TIER_SMALL].pages_total);
        free(malloc(100));
        return 0;
    }

    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return 2;
    self[len] = 0;
    static char err[65536];
    static const char *const tags[] = { "[HZ3_S62_OBSERVE]", "[HZ3_RETENTION_OBS]", "[HZ3_SEG_SCAVENGE_OBS]",
                                        "[HZ3_S135_PARTIAL_SC]", "[HZ3_S135_FULL_SC]" };
    const char *maxes[] = { "32768", "2048" };
    for (int m = 0; m < 2; m++) {
        char *args[] = { self, "dist_app", (char *)maxes[m], NULL };
        char *env[] = { "HZ3_OBS=1", NULL };
        int st = t_run(args, env, err, sizeof err);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "max %s: status %#x", maxes[m], st);
        for (unsigned t = 0; t < sizeof tags / sizeof tags[0]; t++)
            CHECK_MSG(count(err, tags[t]) == 1, "max %s: %s appears %d times", maxes[m], tags[t], count(err, tags[t]));
        CHECK_MSG(count(err, "[HZ3_S135_FRAG_OBS] tier=") == 6, "max %s: FRAG_OBS lines %d", maxes[m],
                  count(err, "[HZ3_S135_FRAG_OBS] tier="));
        CHECK(field(err, "tier=small", "pages_total") > 0 && field(err, "tier=small", "live_objects") > 0);
        /* The tier lines use the census's field names, and their five states add up. */
        for (unsigned t = 0; t < 5; t++) {
            static const char *const tiers[] = { "tier=small", "tier=sub4k", "tier=medium", "tier=large", "tier=free" };
            long sum = 0;
            static const char *const states[] = { "pages_untouched", "pages_decommitted", "pages_empty",
                                                  "pages_full", "pages_partial" };
            for (unsigned k = 0; k < 5; k++) {
                long v = field(err, tiers[t], states[k]);
                CHECK_MSG(v >= 0, "%s: no %s=", tiers[t], states[k]);
                sum += v;
            }
            CHECK_MSG(sum == field(err, tiers[t], "pages_total"), "%s: states add up to %ld", tiers[t], sum);
            CHECK_MSG(field(err, tiers[t], "untouched") == -1 && field(err, tiers[t], "partial") == -1,
                      "%s: a bare state name", tiers[t]);
        }
        CHECK(field(err, "tier=sub4k", "live_objects") > 0);
        CHECK(field(err, "[HZ3_S62_OBSERVE]", "used_pages") > 0);
        CHECK(field(err, "[HZ3_RETENTION_OBS]", "arena_used_bytes") > 0);
        CHECK(strstr(err, "[HZ3_S135_PARTIAL_SC] seq=") && !strstr(err, "[HZ3_S135_PARTIAL_SC] seq=0 "));
        if (m == 0) CHECK_MSG(field(err, "tier=medium", "live_objects") > 0, "max 32768: medium objects live");
        else CHECK_MSG(field(err, "tier=medium", "live_objects") == 0, "max 2048: no medium objects");
        /* every line names the same snapshot */
        long seq = field(err, "[HZ3_S62_OBSERVE]", "seq");
        CHECK(seq > 0 && field(err, "tier=all", "seq") == seq && field(err, "[HZ3_S135_FULL_SC]", "seq") == seq);
    }

    /* a census named for the report is the one it prints */
    {
        char *args[] = { self, "named", NULL };
        char *env[] = { "HZ3_OBS=1", NULL };
        int st = t_run(args, env, err, sizeof err);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "named: status %#x", st);
        long named_seq = field(err, "NAMED", "seq");
        CHECK_MSG(named_seq > 0 && field(err, "tier=small", "seq") == named_seq &&
                      field(err, "[HZ3_S62_OBSERVE]", "seq") == named_seq,
                  "named seq %ld, report: %s", named_seq, err);
        CHECK(field(err, "NAMED", "small_pages") == field(err, "tier=small", "pages_total"));
        CHECK(strstr(err, " taken=named") != NULL);
    }

    /* HZ3_OBS_FILE: the report goes to path.PID, nothing to stderr */
    const char *tmp = getenv("TMPDIR");
    char base[1024];
    snprintf(base, sizeof base, "%s/hz3-go-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(base);
    close(fd);
    char envfile[4200];
    snprintf(envfile, sizeof envfile, "HZ3_OBS_FILE=%s", base);
    char *args[] = { self, "dist_app", "2048", NULL };
    char *env[] = { envfile, NULL };
    pid_t before = getpid();
    (void)before;
    int st = t_run(args, env, err, sizeof err);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_MSG(!strstr(err, "[HZ3_"), "report went to stderr: %s", err);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "cat %s.* 2>/dev/null", base);
    FILE *f = popen(cmd, "r");
    size_t got = fread(err, 1, sizeof err - 1, f);
    err[got] = 0;
    pclose(f);
    CHECK_MSG(count(err, "[HZ3_S135_FRAG_OBS] tier=") == 6, "report file: %s", err);
    snprintf(cmd, sizeof cmd, "rm -f %s %s.*", base, base);
    CHECK(system(cmd) == 0);
    return t_finish("test-go");
}
