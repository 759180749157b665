/*
 * error.c: bad pointers. One line on stderr naming the function, the
 * pointer, the problem and the caller (return address, and the library it
 * lies in with its offset, from dladdr), then abort. With HZ3_ON_ERROR=warn
 * the line ends in "ignored" and the pointer is left alone (leaked), so a
 * process with a known bad free can be kept running while it is found.
 * Formatting is done by hand: stdio may allocate.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hz3_internal.h"

void _hz3_write_str(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

char *_hz3_fmt_u64(char *buf, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    while (n) *buf++ = tmp[--n];
    *buf = 0;
    return buf;
}

char *_hz3_fmt_hex(char *buf, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do tmp[n++] = "0123456789abcdef"[v & 15]; while ((v >>= 4) != 0);
    *buf++ = '0';
    *buf++ = 'x';
    while (n) *buf++ = tmp[--n];
    *buf = 0;
    return buf;
}

char *_hz3_fmt_quoted(char *buf, char *end, const char *s, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = strlen(s), n = len < max ? len : max;
    char *b = buf;
    /* room for the longest escape, the closing quote and the cut marker */
    if (end - buf < 48) {
        *buf = 0;
        return buf;
    }
    char *stop = end - 44;
    *b++ = '\'';
    size_t i = 0;
    for (; i < n && b < stop; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '\'') {
            *b++ = '\\';
            *b++ = (char)c;
        } else if (c == '\n') {
            *b++ = '\\';
            *b++ = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            *b++ = '\\';
            *b++ = 'x';
            *b++ = hex[c >> 4];
            *b++ = hex[c & 15];
        } else {
            *b++ = (char)c;
        }
    }
    *b++ = '\'';
    if (i < len) {
        char num[24];
        const char *m = "...(";
        while (*m) *b++ = *m++;
        _hz3_fmt_u64(num, len);
        for (m = num; *m;) *b++ = *m++;
        for (m = " bytes, cut)"; *m;) *b++ = *m++;
    }
    *b = 0;
    return b;
}

/* The freed ring: addresses of runs, capacity-1 objects given back and
 * large objects, as they were freed; overwritten round-robin. Read only
 * when a pointer turned out not to be a live object. */
static _Atomic uintptr_t freed_ring[HZ3_FREED_RING];
static _Atomic unsigned freed_next;

void _hz3_freed_note(const void *p)
{
    unsigned i = atomic_fetch_add_explicit(&freed_next, 1, memory_order_relaxed) % HZ3_FREED_RING;
    atomic_store_explicit(&freed_ring[i], (uintptr_t)p, memory_order_relaxed);
}

bool _hz3_freed_recently(const void *p)
{
    for (unsigned i = 0; i < HZ3_FREED_RING; i++)
        if (atomic_load_explicit(&freed_ring[i], memory_order_relaxed) == (uintptr_t)p) return true;
    return false;
}

static char *put(char *b, char *end, const char *s)
{
    while (*s && b < end) *b++ = *s++;
    *b = 0;
    return b;
}

static const char *what_text(enum hz3_bad what)
{
    switch (what) {
    case HZ3_BAD_FOREIGN: return "not allocated by hz3";
    case HZ3_BAD_INTERIOR: return "not the start of an object (interior pointer)";
    case HZ3_BAD_NOT_LIVE: return "not a live object (freed already, or never handed out)";
    case HZ3_BAD_DOUBLE_FREE: return "double free (the object is free already)";
    }
    return "bad pointer";
}

void _hz3_bad_pointer(const char *fn, const void *p, enum hz3_bad what, const void *caller)
{
    char line[768], num[24];
    char *b = line, *end = line + sizeof line - 2;
    b = put(b, end, "hz3: ");
    b = put(b, end, fn);
    b = put(b, end, "(");
    _hz3_fmt_hex(num, (uintptr_t)p);
    b = put(b, end, num);
    b = put(b, end, "): ");
    b = put(b, end, what_text(what));
    b = put(b, end, "; called from ");
    _hz3_fmt_hex(num, (uintptr_t)caller);
    b = put(b, end, num);
    Dl_info info;
    if (caller && dladdr(caller, &info) && info.dli_fname) {
        b = put(b, end, " (");
        b = put(b, end, info.dli_fname && *info.dli_fname ? info.dli_fname : "main program");
        if (info.dli_sname) {
            b = put(b, end, " ");
            b = put(b, end, info.dli_sname);
        }
        b = put(b, end, "+");
        _hz3_fmt_hex(num, (uintptr_t)caller - (uintptr_t)(info.dli_saddr ? info.dli_saddr : info.dli_fbase));
        b = put(b, end, num);
        b = put(b, end, ")");
    }
    b = put(b, end, _hz3_opt.on_error_warn ? "; ignored (HZ3_ON_ERROR=warn)\n" : "; aborting (HZ3_ON_ERROR=warn to continue)\n");
    _hz3_write_str(2, line);
    if (!_hz3_opt.on_error_warn) abort();
}
