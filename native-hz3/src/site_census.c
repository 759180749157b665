/*
 * site_census.c: hz3_site_census, the live samples grouped by call site,
 * with the pages their spans pin (definitions in include/hz3.h).
 *
 * The samples are copied out of the side table first (its locks are held
 * one shard at a time), then joined to their spans under the pool lock, so
 * that no span is made or given back while it is read: a sample freed in
 * between finds its page free or given to another span, and pins nothing.
 * A span's pinned pages are its resident pages (mincore), its pinned bytes
 * those pages' bytes minus its live objects' bytes.
 */
#include <string.h>
#include "hz3_hot.h"
#include "sample.h"

static hz3_site_entry_t *entries;       /* scratch, HZ3_SAMPLE_CAPACITY; census lock held */
static struct hz3_site_stat *stats;

/* In-place heap sort (no allocation inside the allocator's own API). */
static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

static void sift(uint8_t *base, size_t n, size_t sz, size_t i, int (*cmp)(const void *, const void *))
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && cmp(base + c * sz, base + (c + 1) * sz) < 0) c++;
        if (cmp(base + i * sz, base + c * sz) >= 0) return;
        swap_bytes(base + i * sz, base + c * sz, sz);
        i = c;
    }
}

static void heap_sort(void *v, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
    uint8_t *base = v;
    for (size_t i = n / 2; i-- > 0;) sift(base, n, sz, i, cmp);
    for (size_t end = n; end-- > 1;) {
        swap_bytes(base, base + end * sz, sz);
        sift(base, end, sz, 0, cmp);
    }
}

static int by_site_then_span(const void *a, const void *b)
{
    const hz3_site_entry_t *x = a, *y = b;
    if (x->site != y->site) return x->site < y->site ? -1 : 1;
    return x->span < y->span ? -1 : x->span > y->span;
}

static int by_live_bytes_desc(const void *a, const void *b)
{
    const struct hz3_site_stat *x = a, *y = b;
    if (x->live_bytes_est != y->live_bytes_est) return x->live_bytes_est > y->live_bytes_est ? -1 : 1;
    return x->site < y->site ? -1 : x->site > y->site;
}

/* The span of a live sample and, when the span is partly used, what it
 * pins; pool lock held. */
static void join_span(hz3_site_entry_t *e)
{
    e->span = e->pin_pages = e->pin_bytes = 0;
    if (!_hz3_is_segment(e->addr)) return;   /* a mapping of its own pins no span */
    size_t off;
    hz3_span_t *s = _hz3_span_of((void *)e->addr, &off);
    if (s->kind != HZ3_SPAN_HEAD || off >= (size_t)s->pages << HZ3_PAGE_SHIFT) return;
    e->span = (uintptr_t)s;
    unsigned live = _hz3_span_live(s), cap = s->capacity, pages = s->pages;
    if (live == 0 || live >= cap) return;
    unsigned char vec[HZ3_SEG_PAGES];
    if (!_hz3_os_resident(_hz3_span_start(s), pages, vec)) memset(vec, 1, pages);
    uint64_t resident = 0;
    for (unsigned k = 0; k < pages; k++) resident += vec[k] & 1;
    uint64_t used = (uint64_t)live * _hz3_classes[s->cls].size, bytes = resident * HZ3_PAGE_SIZE;
    e->pin_pages = resident;
    e->pin_bytes = bytes > used ? bytes - used : 0;
}

HZ3_EXPORT size_t hz3_site_census(struct hz3_site_stat *out, size_t max)
{
    pthread_mutex_lock(&_hz3_site_census_lock);
    if (!entries) {
        entries = _hz3_meta_alloc(HZ3_SAMPLE_CAPACITY * sizeof *entries);
        stats = _hz3_meta_alloc(HZ3_SAMPLE_CAPACITY * sizeof *stats);
        if (!entries || !stats) {
            entries = NULL;
            pthread_mutex_unlock(&_hz3_site_census_lock);
            return 0;
        }
    }
    size_t n = _hz3_samples_copy(entries);
    _hz3_pool_lock();
    for (size_t i = 0; i < n; i++) join_span(&entries[i]);
    _hz3_pool_unlock();
    heap_sort(entries, n, sizeof *entries, by_site_then_span);

    uint64_t now = _hz3_wall_ms();
    size_t sites = 0;
    for (size_t i = 0; i < n;) {
        struct hz3_site_stat *st = &stats[sites++];
        memset(st, 0, sizeof *st);
        st->site = entries[i].site;
        uint64_t oldest = UINT64_MAX, last_span = 0;
        for (; i < n && entries[i].site == st->site; i++) {
            const hz3_site_entry_t *e = &entries[i];
            st->live_samples++;
            st->live_bytes_est += e->weight;
            if (e->time_ms < oldest) oldest = e->time_ms;
            if (e->span && e->span != last_span) {   /* a span counts once per site */
                st->pinned_pages += e->pin_pages;
                st->pinned_bytes += e->pin_bytes;
            }
            last_span = e->span;
        }
        st->oldest_age_ms = now > oldest ? now - oldest : 0;
    }
    heap_sort(stats, sites, sizeof *stats, by_live_bytes_desc);
    if (out) memcpy(out, stats, (sites < max ? sites : max) * sizeof *stats);
    pthread_mutex_unlock(&_hz3_site_census_lock);
    return sites;
}
