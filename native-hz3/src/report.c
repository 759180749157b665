/*
 * report.c: the exit report (HZ3_OBS=1), written once from atexit so that
 * it also appears when main calls exit() (thread destructors never run for
 * the main thread). HZ3_OBS_FILE=path writes to path.PID instead of stderr,
 * for JVMs whose child processes inherit the preload.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "hz3_internal.h"

static char *kv(char *b, const char *key, uint64_t v)
{
    *b++ = ' ';
    size_t n = strlen(key);
    memcpy(b, key, n);
    b += n;
    *b++ = '=';
    return _hz3_fmt_u64(b, v);
}

void _hz3_report_at_exit(void)
{
    struct hz3_stats st;
    st.size = sizeof st;
    hz3_stats_get(&st);
    char line[1024], *b = line;
    memcpy(b, "[HZ3_EXIT] version=" HZ3_VERSION_STRING, sizeof "[HZ3_EXIT] version=" HZ3_VERSION_STRING - 1);
    b += sizeof "[HZ3_EXIT] version=" HZ3_VERSION_STRING - 1;
    b = kv(b, "pid", (uint64_t)getpid());
    b = kv(b, "reservations", st.reservations);
    b = kv(b, "reserved_bytes", st.reserved_bytes);
    b = kv(b, "segments_active", st.segments_active);
    b = kv(b, "segments_freed", st.segments_free);
    b = kv(b, "span_pages", st.span_pages);
    b = kv(b, "free_pages", st.free_pages);
    b = kv(b, "large_count", st.large_count);
    b = kv(b, "large_bytes", st.large_bytes);
    b = kv(b, "large_cached", st.large_cached);
    b = kv(b, "heaps_live", st.heaps_live);
    b = kv(b, "heaps_created", st.heaps_created);
    b = kv(b, "threads_exited", st.threads_exited);
    b = kv(b, "meta_bytes", st.meta_bytes);
    *b++ = '\n';
    *b = 0;

    int fd = 2;
    if (_hz3_opt.obs_file) {
        char path[4096], *p = path;
        size_t n = strlen(_hz3_opt.obs_file);
        if (n > sizeof path - 32) n = sizeof path - 32;
        memcpy(p, _hz3_opt.obs_file, n);
        p += n;
        *p++ = '.';
        _hz3_fmt_u64(p, (uint64_t)getpid());
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) fd = 2;
    }
    _hz3_write_str(fd, line);
    if (fd != 2) close(fd);
}
