/*
 * options.c: settings read once from HZ3_* environment variables (the Java
 * agent passes its settings under the same names). getenv is safe here:
 * it does not allocate. A bad value is named on one line and the default
 * is kept; the process goes on.
 */
#include <stdlib.h>
#include <string.h>
#include "hz3_internal.h"

hz3_options_t _hz3_opt;

/* One line, written at once: the value is quoted with its control
 * characters escaped and cut after 64 bytes, so that whatever the
 * environment holds it can neither forge a second hz3 line nor flood stderr. */
static void bad_value(const char *name, const char *value, const char *allowed)
{
    char line[1024], *b = line, *end = line + sizeof line - 2;
    const char *parts1[] = { "hz3: ignoring ", name, "=" };
    for (size_t i = 0; i < 3; i++)
        for (const char *c = parts1[i]; *c && b < end - 400; c++) *b++ = *c;
    b = _hz3_fmt_quoted(b, b + 320, value, 64);
    const char *parts2[] = { ": allowed values are ", allowed, "\n" };
    for (size_t i = 0; i < 3; i++)
        for (const char *c = parts2[i]; *c && b < end; c++) *b++ = *c;
    if (b[-1] != '\n') *b++ = '\n';
    *b = 0;
    _hz3_write_str(2, line);
}

static bool read_bool(const char *name, bool dflt)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) return true;
    if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) return false;
    bad_value(name, v, "1 or 0");
    return dflt;
}

/* A whole number in [lo, hi], or the default with a one-line warning. */
static uint64_t read_u64(const char *name, uint64_t dflt, uint64_t lo, uint64_t hi, const char *allowed)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    uint64_t x = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '9' && x <= hi; p++) x = x * 10 + (uint64_t)(*p - '0');
    if (*p || x < lo || x > hi) {
        bad_value(name, v, allowed);
        return dflt;
    }
    return x;
}

/* The numeric settings, once: environment name, run-time name (for
 * hz3_config_set/get), where the value lives, its range and how the range
 * reads. Defaults are the initial values in epoch.c. Keep in sync with
 * include/hz3.h (hz3_config_set) and docs/observation.md. */
static const struct setting {
    const char *env, *name;
    uint64_t *value;
    uint64_t lo, hi;
    const char *allowed;
} settings[] = {
    { "HZ3_SCAN_SEG_BUDGET", "scan_seg_budget", &_hz3_cfg.scan_seg_budget, 0, 1u << 20,
      "0 (no census sweeps) or 1..1048576 (segments per epoch)" },
    { "HZ3_PURGE_DELAY_MS", "purge_delay_ms", &_hz3_cfg.purge_delay_ms, 0, 3600000,
      "whole numbers 0..3600000 (milliseconds)" },
    { "HZ3_EPOCH_INTERVAL_MS", "epoch_interval_ms", &_hz3_cfg.epoch_interval_ms, 0, 3600000,
      "0 (no maintenance thread) or 1..3600000 (milliseconds)" },
    { "HZ3_SNAPSHOT_MIN_MS", "snapshot_min_ms", &_hz3_cfg.snapshot_min_ms, 0, 3600000,
      "whole numbers 0..3600000 (milliseconds)" },
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

void _hz3_options_init(void)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        *settings[i].value = read_u64(settings[i].env, *settings[i].value, settings[i].lo, settings[i].hi,
                                      settings[i].allowed);
    const char *v = getenv("HZ3_ON_ERROR");
    _hz3_opt.on_error_warn = false;
    if (v && *v) {
        if (!strcmp(v, "warn")) _hz3_opt.on_error_warn = true;
        else if (strcmp(v, "abort") != 0) bad_value("HZ3_ON_ERROR", v, "abort (the default) or warn");
    }
    _hz3_opt.sample_bytes = read_u64("HZ3_SAMPLE_BYTES", 0, 0, (uint64_t)1 << 40, "0 (off) or 1024..1099511627776 (mean bytes between samples)");
    if (_hz3_opt.sample_bytes && _hz3_opt.sample_bytes < 1024) {
        bad_value("HZ3_SAMPLE_BYTES", getenv("HZ3_SAMPLE_BYTES"), "0 (off) or 1024..1099511627776 (mean bytes between samples)");
        _hz3_opt.sample_bytes = 0;
    }
    _hz3_opt.obs = read_bool("HZ3_OBS", false);
    v = getenv("HZ3_OBS_FILE");
    _hz3_opt.obs_file = v && *v ? v : NULL;
    if (_hz3_opt.obs_file) _hz3_opt.obs = true;
}

int _hz3_setting_set(const char *name, int64_t value)
{
    for (size_t i = 0; name && i < NSETTINGS; i++) {
        if (strcmp(name, settings[i].name) != 0) continue;
        if (value < (int64_t)settings[i].lo || (uint64_t)value > settings[i].hi) return -1;
        __atomic_store_n(settings[i].value, (uint64_t)value, __ATOMIC_RELAXED);
        return 0;
    }
    if (name && !strcmp(name, "obs") && (value == 0 || value == 1)) {
        _hz3_opt.obs = value;
        return 0;
    }
    return -1;
}

int64_t _hz3_setting_get(const char *name)
{
    for (size_t i = 0; name && i < NSETTINGS; i++)
        if (!strcmp(name, settings[i].name)) return (int64_t)__atomic_load_n(settings[i].value, __ATOMIC_RELAXED);
    if (name && !strcmp(name, "obs")) return _hz3_opt.obs;
    return -1;
}
