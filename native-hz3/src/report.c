/*
 * report.c: the exit report (HZ3_OBS=1), written once from atexit so that
 * it also appears when main calls exit() (thread destructors never run for
 * the main thread). HZ3_OBS_FILE=path writes to path.PID instead of stderr,
 * for JVMs whose child processes inherit the preload: a new file only (see
 * obs_file_fallback below).
 *
 * The report is one exact census, whose epoch number every line carries as
 * seq=: the one an agent named with hz3_obs_snapshot_for_report as its
 * recording ended (taken=named), or else one taken at exit (taken=exit).
 * It is printed as hz3's own tags, for the scripts that read them, plus
 * [HZ3_S135_FRAG_OBS], one line per tier with the census's field names
 * (pages_total, pages_untouched, pages_decommitted, pages_empty, pages_full,
 * pages_partial, occ_*, ...). docs/observation.md explains every tag in words.
 * hz3's keys in our design (docs: README, "The exit report"):
 *   HZ3_S62_OBSERVE      small tier: dtor_calls = thread heaps given back,
 *                        scanned_segs = segments read, candidate_segs =
 *                        cand_unmap_segs, total_pages, free_pages = empty +
 *                        decommitted + untouched, used_pages = partial + full,
 *                        purge_potential_bytes = cand_decommit_pages x 4096
 *   HZ3_RETENTION_OBS    calls = epochs, tls_small_bytes / tls_medium_bytes =
 *                        free block bytes in spans of small+sub4k / medium
 *                        classes (what threads hold ready), arena_used_bytes =
 *                        active segment bytes, pack_pool_free_bytes = resident
 *                        free pages of segments
 *   HZ3_SEG_SCAVENGE_OBS calls = epochs that gave memory back,
 *                        max_candidate_pages = cand_decommit_pages over all
 *                        tiers, purged_pages, madvise_calls, segments_unmapped
 *   HZ3_S135_PARTIAL_SC  top 5 classes by partial pages: pages =
 *                        partial/total/empty/full, occ = the five buckets
 *   HZ3_S135_FULL_SC     top 5 classes by tail waste; total_waste / total_pages
 *                        over all spans, full_waste / full_pages over full
 *                        pages, avg_tail = bytes per span, avg_full = full
 *                        pages per 1000 span pages
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hz3_internal.h"

typedef struct { char *b, *end; } out_t;

static void put(out_t *o, const char *s)
{
    while (*s && o->b < o->end) *o->b++ = *s++;
}

static void putu(out_t *o, uint64_t v)
{
    char num[24];
    _hz3_fmt_u64(num, v);
    put(o, num);
}

static void kv(out_t *o, const char *key, uint64_t v)
{
    put(o, " ");
    put(o, key);
    put(o, "=");
    putu(o, v);
}

static const char *tier_name(unsigned t)
{
    static const char *const names[] = { "small", "sub4k", "medium", "large", "free" };
    return t < 5 ? names[t] : "?";
}

static void class_list(out_t *o, const struct hz3_snapshot *s, const uint32_t *top, const char *key)
{
    put(o, " ");
    put(o, key);
    put(o, "=");
    bool first = true;
    for (unsigned r = 0; r < HZ3_TOP_N; r++) {
        if (top[r] == UINT32_MAX) continue;
        if (!first) put(o, ",");
        putu(o, top[r]);
        put(o, ":");
        putu(o, s->classes[top[r]].object_size);
        first = false;
    }
    if (first) put(o, "none");
}

/* Writes the whole report for a snapshot into buf; returns its length. */
size_t _hz3_report_format(const struct hz3_snapshot *s, char *buf, size_t size, const char *taken)
{
    out_t o = { buf, buf + size - 1 };
    struct hz3_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    hz3_stats_get(&st);
    hz3_epoch_totals_t et;
    _hz3_epoch_totals(&et);
    const struct hz3_tier_census *small = &s->tier[HZ3_TIER_SMALL];

    put(&o, "[HZ3_S62_OBSERVE]");
    kv(&o, "seq", s->seq_last);
    kv(&o, "dtor_calls", st.threads_exited);
    kv(&o, "scanned_segs", s->segments_scanned);
    kv(&o, "candidate_segs", s->cand_unmap_segs);
    kv(&o, "total_pages", small->pages_total);
    kv(&o, "free_pages", small->pages[HZ3_PS_EMPTY] + small->pages[HZ3_PS_DECOMMITTED] + small->pages[HZ3_PS_UNTOUCHED]);
    kv(&o, "used_pages", small->pages[HZ3_PS_PARTIAL] + small->pages[HZ3_PS_FULL]);
    kv(&o, "purge_potential_bytes", small->cand_decommit_pages * HZ3_PAGE_SIZE);
    put(&o, "\n");

    uint64_t free_block_bytes[HZ3_CENSUS_TIERS] = { 0 };
    for (unsigned c = 0; c < s->num_classes; c++) {
        const struct hz3_class_census *cc = &s->classes[c];
        free_block_bytes[cc->tier] += (cc->capacity_objects - cc->live_objects) * cc->object_size;
    }
    put(&o, "[HZ3_RETENTION_OBS]");
    kv(&o, "seq", s->seq_last);
    kv(&o, "calls", et.epochs);
    kv(&o, "tls_small_bytes", free_block_bytes[HZ3_TIER_SMALL] + free_block_bytes[HZ3_TIER_SUB4K]);
    kv(&o, "tls_medium_bytes", free_block_bytes[HZ3_TIER_MEDIUM]);
    kv(&o, "arena_used_bytes", st.segment_bytes);
    kv(&o, "pack_pool_free_bytes", s->tier[HZ3_TIER_FREE].pages[HZ3_PS_EMPTY] * HZ3_PAGE_SIZE);
    put(&o, "\n");

    uint64_t cand = 0;
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) cand += s->tier[t].cand_decommit_pages;
    put(&o, "[HZ3_SEG_SCAVENGE_OBS]");
    kv(&o, "seq", s->seq_last);
    kv(&o, "calls", et.purging_epochs);
    kv(&o, "max_candidate_pages", cand);
    kv(&o, "purged_pages", et.pages_purged);
    kv(&o, "madvise_calls", et.madvise_calls);
    kv(&o, "segments_unmapped", et.segments_unmapped);
    put(&o, "\n");

    put(&o, "[HZ3_S135_PARTIAL_SC]");
    kv(&o, "seq", s->seq_last);
    class_list(&o, s, s->top_partial_sc, "top_sc");
    put(&o, " pages=");
    for (unsigned r = 0, n = 0; r < HZ3_TOP_N; r++) {
        if (s->top_partial_sc[r] == UINT32_MAX) continue;
        const struct hz3_class_census *c = &s->classes[s->top_partial_sc[r]];
        uint64_t total = 0;
        for (unsigned k = 0; k < HZ3_PS_COUNT; k++) total += c->pages[k];
        if (n++) put(&o, ",");
        putu(&o, c->pages[HZ3_PS_PARTIAL]);
        put(&o, "/");
        putu(&o, total);
        put(&o, "/");
        putu(&o, c->pages[HZ3_PS_EMPTY]);
        put(&o, "/");
        putu(&o, c->pages[HZ3_PS_FULL]);
    }
    put(&o, " occ=");
    for (unsigned r = 0, n = 0; r < HZ3_TOP_N; r++) {
        if (s->top_partial_sc[r] == UINT32_MAX) continue;
        const struct hz3_class_census *c = &s->classes[s->top_partial_sc[r]];
        if (n++) put(&o, ",");
        put(&o, "[");
        for (unsigned b = 0; b < HZ3_OCC_COUNT; b++) {
            if (b) put(&o, ";");
            putu(&o, c->occ[b]);
        }
        put(&o, "]");
    }
    put(&o, "\n");

    uint64_t total_waste = 0, total_pages = 0, spans = 0, full_waste = 0, full_pages = 0;
    for (unsigned c = 0; c < s->num_classes; c++) {
        const struct hz3_class_census *cc = &s->classes[c];
        total_waste += cc->tail_waste_bytes;
        spans += cc->spans;
        for (unsigned k = 0; k < HZ3_PS_COUNT; k++) total_pages += cc->pages[k];
        full_pages += cc->pages[HZ3_PS_FULL];
        if (cc->spans && cc->span_pages)
            full_waste += cc->tail_waste_bytes / cc->spans * (cc->pages[HZ3_PS_FULL] / cc->span_pages);
    }
    put(&o, "[HZ3_S135_FULL_SC]");
    kv(&o, "seq", s->seq_last);
    class_list(&o, s, s->top_tail_waste_sc, "top_sc");
    kv(&o, "total_waste", total_waste);
    kv(&o, "total_pages", total_pages);
    kv(&o, "full_waste", full_waste);
    kv(&o, "full_pages", full_pages);
    kv(&o, "avg_tail", spans ? total_waste / spans : 0);
    kv(&o, "avg_full", total_pages ? full_pages * 1000 / total_pages : 0);
    put(&o, "\n");

    /* The census's own names (struct hz3_tier_census in include/hz3.h, and so the JFR
     * fields pagesUntouched, ...): keep in sync with samples' Recordings.exitReport. */
    static const char *const states[] = { "pages_untouched", "pages_decommitted", "pages_empty",
                                          "pages_full", "pages_partial" };
    static const char *const occ[] = { "occ_0", "occ_1_25", "occ_25_50", "occ_50_75", "occ_75_100" };
    for (unsigned t = 0; t < HZ3_CENSUS_TIERS; t++) {
        const struct hz3_tier_census *tc = &s->tier[t];
        put(&o, "[HZ3_S135_FRAG_OBS] tier=");
        put(&o, tier_name(t));
        kv(&o, "seq", s->seq_last);
        kv(&o, "pages_total", tc->pages_total);
        for (unsigned k = 0; k < HZ3_PS_COUNT; k++) kv(&o, states[k], tc->pages[k]);
        for (unsigned b = 0; b < HZ3_OCC_COUNT; b++) kv(&o, occ[b], tc->occ[b]);
        kv(&o, "cand_decommit_pages", tc->cand_decommit_pages);
        kv(&o, "spans", tc->spans);
        kv(&o, "live_objects", tc->live_objects);
        kv(&o, "capacity_objects", tc->capacity_objects);
        kv(&o, "live_bytes", tc->live_bytes);
        kv(&o, "tail_waste_bytes", tc->tail_waste_bytes);
        put(&o, "\n");
    }
    put(&o, "[HZ3_S135_FRAG_OBS] tier=all");
    kv(&o, "seq", s->seq_last);
    put(&o, " taken=");
    put(&o, taken);
    kv(&o, "cand_unmap_segs", s->cand_unmap_segs);
    kv(&o, "segments", s->segments_total);
    kv(&o, "header_resident_bytes", s->header_resident_bytes);
    kv(&o, "meta_bytes", s->meta_bytes);
    kv(&o, "large_count", s->large_count);
    kv(&o, "large_bytes", s->large_bytes);
    kv(&o, "large_resident_bytes", s->large_resident_bytes);
    kv(&o, "large_cached", s->large_cached);
    kv(&o, "large_cached_bytes", s->large_cached_bytes);
    kv(&o, "census_resident_bytes", s->census_resident_bytes);
    put(&o, "\n");
    *o.b = 0;
    return (size_t)(o.b - buf);
}

/* HZ3_OBS_FILE: the report goes to a file hz3 creates itself, new (O_EXCL),
 * mode 0600, never through a symbolic link (O_NOFOLLOW): in a shared
 * directory another user may have planted path.PID as a link to one of our
 * files, or as a file of theirs to read our report from. When the file
 * cannot be used, one line says why, and the report goes to stderr. */
static const char *errno_text(int e)   /* -1: a symbolic link is at the path */
{
    switch (e) {
    case -1: return "a symbolic link is there (hz3 follows none)";
    case EEXIST: return "a file is there already (hz3 writes only a file it creates)";
    case ENOENT: return "no such directory";
    case ENOTDIR: return "a part of the path is not a directory";
    case EISDIR: return "a directory is there";
    case ELOOP: return "too many symbolic links";
    case EACCES: return "permission denied";
    case EPERM: return "operation not permitted";
    case EROFS: return "read-only file system";
    case ENAMETOOLONG: return "path too long";
    case ENOSPC: return "no space left on device";
    case EDQUOT: return "disk quota exceeded";
    case EFBIG: return "file too large (RLIMIT_FSIZE)";
    case EIO: return "input/output error";
    case EMFILE: case ENFILE: return "too many open files";
    }
    return "error";
}

static void obs_file_fallback(const char *path, const char *what, int e)
{
    char line[1024], num[24];
    out_t o = { line, line + sizeof line - 1 };
    put(&o, "hz3: HZ3_OBS_FILE: ");
    put(&o, what);
    put(&o, " ");
    o.b = _hz3_fmt_quoted(o.b, line + sizeof line - 200, path, 160);   /* at most 4 x 160 + 48 */
    put(&o, ": ");
    put(&o, errno_text(e));
    put(&o, " (errno ");
    _hz3_fmt_u64(num, (uint64_t)(e < 0 ? EEXIST : e));
    put(&o, num);
    put(&o, "); the exit report goes to stderr\n");
    *o.b = 0;
    _hz3_write_str(2, line);
}

/* 0, or the errno of the first write that failed (a short write is ENOSPC). */
static int write_all(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno;
        if (w == 0) return ENOSPC;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The census an agent named for the report (hz3_obs_snapshot_for_report). */
static pthread_mutex_t named_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hz3_snapshot named;
static bool named_valid;

HZ3_EXPORT int hz3_obs_snapshot_for_report(struct hz3_snapshot *out)
{
    if (!out || out->size < sizeof *out) return -1;
    pthread_mutex_lock(&named_lock);
    _hz3_epoch_run(HZ3_EPOCH_SNAPSHOT, out);
    named = *out;
    named_valid = true;
    pthread_mutex_unlock(&named_lock);
    return 0;
}

void _hz3_report_at_exit(void)
{
    static struct hz3_snapshot snap;
    static char text[16384];
    if (!_hz3_opt.obs) return;
    pthread_mutex_lock(&named_lock);
    bool from_agent = named_valid;
    if (from_agent) snap = named;
    pthread_mutex_unlock(&named_lock);
    if (!from_agent) _hz3_epoch_run(HZ3_EPOCH_EXIT, &snap);
    _hz3_report_format(&snap, text, sizeof text, from_agent ? "named" : "exit");

    if (!_hz3_opt.obs_file) {
        _hz3_write_str(2, text);
        return;
    }
    char path[PATH_MAX];
    size_t len = strlen(_hz3_opt.obs_file);
    if (len > sizeof path - 24) {
        obs_file_fallback(_hz3_opt.obs_file, "cannot create", ENAMETOOLONG);
        _hz3_write_str(2, text);
        return;
    }
    memcpy(path, _hz3_opt.obs_file, len);
    path[len] = '.';
    _hz3_fmt_u64(path + len + 1, (uint64_t)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        struct stat st;
        if (e == EEXIST && lstat(path, &st) == 0)
            e = S_ISLNK(st.st_mode) ? -1 : S_ISDIR(st.st_mode) ? EISDIR : EEXIST;
        obs_file_fallback(path, "cannot create", e);
        _hz3_write_str(2, text);
        return;
    }
    int err = write_all(fd, text);
    if (close(fd) != 0 && !err) err = errno;   /* NFS reports a full disk here */
    if (err) {
        /* The file is ours (just created, in a directory where we could
         * create it): take the partial report away rather than leave it. */
        unlink(path);
        obs_file_fallback(path, "cannot write", err);
        _hz3_write_str(2, text);
    }
}
