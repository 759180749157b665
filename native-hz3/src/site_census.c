/*
 * site_census.c: hz3_site_census, the live samples grouped by call site,
 * with an estimate of the partial pages their objects pin (definitions in
 * include/hz3.h).
 *
 * The spans that hold a sample are a small part of those a site's objects
 * sit on: one sample stands for weight/size objects, most of them on pages
 * no sample touches. So the estimate scales by each size class's exact
 * figures, read first: its partial spans' resident pages P, the live
 * blocks on them L, and those pages' unused bytes F. A live block on a
 * partial span of the class holds P/L of those pages (and F/L of the
 * unused bytes) on average; a sample on one stands for weight/size such
 * blocks, so it adds weight/size * P/L pages to its site (Horvitz-Thompson
 * over the blocks: unbiased, however few samples a class has). A class's
 * figures are not capped one by one (a class with one sample would lose
 * the rest of its pages); when noise puts the sum over all sites above the
 * census's partial pages, every site is scaled down to it.
 *
 * The samples are copied out of the side table (its locks are held one
 * shard at a time), then joined to their spans under the pool lock, so
 * that no span is made or given back while it is read: a sample freed in
 * between finds its page free or given to another span, and pins nothing.
 * The class figures come from a walk of their own just before: the two
 * may disagree by what changed hands in between, which an estimate bears.
 */
#include <string.h>
#include "hz3_hot.h"
#include "sample.h"

static hz3_site_entry_t *entries;       /* scratch, HZ3_SAMPLE_CAPACITY; census lock held */
static struct hz3_site_stat *stats;

/* Per size class, its partly used spans (exact); census lock held. */
typedef struct class_pin {
    uint64_t pages;        /* resident pages of partial spans */
    uint64_t live;         /* live blocks on partial spans */
    uint64_t free_bytes;   /* those pages' bytes no live block uses */
} class_pin_t;
static class_pin_t pins[HZ3_MAX_CLASSES];

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

static int by_site(const void *a, const void *b)
{
    const hz3_site_entry_t *x = a, *y = b;
    return x->site < y->site ? -1 : x->site > y->site;
}

static int by_live_bytes_desc(const void *a, const void *b)
{
    const struct hz3_site_stat *x = a, *y = b;
    if (x->live_bytes_est != y->live_bytes_est) return x->live_bytes_est > y->live_bytes_est ? -1 : 1;
    return x->site < y->site ? -1 : x->site > y->site;
}

/* A segment's partly used spans, added to their classes; pool lock held. */
static void visit_partial(hz3_segment_t *seg, void *arg)
{
    unsigned char vec[HZ3_SEG_PAGES];
    if (!_hz3_os_resident(seg, HZ3_SEG_PAGES, vec)) memset(vec, 1, sizeof vec);
    for (unsigned i = HZ3_SEG_META_PAGES; i < HZ3_SEG_PAGES;) {
        hz3_span_t *e = &seg->spans[i];
        /* a free page's entry may never have been written: not read */
        if ((seg->freemap[i >> 6] >> (i & 63) & 1) || e->kind != HZ3_SPAN_HEAD || e->pages == 0) {
            i++;
            continue;
        }
        unsigned pages = e->pages;
        if (e->cls != HZ3_CLASS_RUN) {
            unsigned live = _hz3_span_live(e), cap = e->capacity;
            if (live != 0 && live < cap) {
                uint64_t resident = 0;
                for (unsigned k = 0; k < pages && i + k < HZ3_SEG_PAGES; k++) resident += vec[i + k] & 1;
                uint64_t used = (uint64_t)live * _hz3_classes[e->cls].size, bytes = resident * HZ3_PAGE_SIZE;
                class_pin_t *c = &pins[e->cls];
                c->pages += resident;
                c->live += live;
                c->free_bytes += bytes > used ? bytes - used : 0;
            }
        }
        i += pages;
    }
}

/* The class of a live sample's span, and whether that span is partly
 * used; pool lock held. */
static void join_span(hz3_site_entry_t *e)
{
    e->cls = UINT32_MAX;
    e->partial = 0;
    if (!_hz3_is_segment(e->addr)) return;   /* a mapping of its own pins no span */
    size_t off;
    hz3_span_t *s = _hz3_span_of((void *)e->addr, &off);
    if (s->kind != HZ3_SPAN_HEAD || off >= (size_t)s->pages << HZ3_PAGE_SHIFT || s->cls == HZ3_CLASS_RUN) return;
    e->cls = s->cls;
    unsigned live = _hz3_span_live(s);
    e->partial = live != 0 && live < s->capacity;
}

/* The pages and unused bytes a live sample stands for (see the top). */
static void pinned_by(const hz3_site_entry_t *e, double *pages, double *bytes)
{
    *pages = *bytes = 0;
    if (!e->partial || e->size == 0) return;
    const class_pin_t *c = &pins[e->cls];
    if (c->live == 0) return;   /* the span filled or emptied since the class walk */
    double blocks = (double)e->weight / (double)e->size;
    *pages = blocks * (double)c->pages / (double)c->live;
    *bytes = blocks * (double)c->free_bytes / (double)c->live;
}

HZ3_EXPORT size_t hz3_site_census(struct hz3_site_stat *out, size_t max)
{
    /* Blocks this thread freed for other threads' spans count as live until
     * pushed (remote.c): push them, so that its own census sees them free. */
    _hz3_remote_flush(_hz3_tl_heap);
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
    memset(pins, 0, sizeof pins);
    hz3_census_cursor_t cur;
    memset(&cur, 0, sizeof cur);
    _hz3_pool_census_step(&cur, UINT64_MAX, visit_partial, NULL);
    _hz3_pool_lock();
    for (size_t i = 0; i < n; i++) join_span(&entries[i]);
    _hz3_pool_unlock();
    /* the census's partial pages and unused bytes bound the sum over sites */
    double all_pages = 0, all_bytes = 0, est_pages = 0, est_bytes = 0;
    for (unsigned c = 0; c < HZ3_MAX_CLASSES; c++) {
        all_pages += (double)pins[c].pages;
        all_bytes += (double)pins[c].free_bytes;
    }
    for (size_t i = 0; i < n; i++) {
        double p, b;
        pinned_by(&entries[i], &p, &b);
        est_pages += p;
        est_bytes += b;
    }
    double scale_pages = est_pages > all_pages ? all_pages / est_pages : 1;
    double scale_bytes = est_bytes > all_bytes ? all_bytes / est_bytes : 1;
    heap_sort(entries, n, sizeof *entries, by_site);

    uint64_t now = _hz3_wall_ms();
    size_t sites = 0;
    for (size_t i = 0; i < n;) {
        struct hz3_site_stat *st = &stats[sites++];
        memset(st, 0, sizeof *st);
        st->site = entries[i].site;
        uint64_t oldest = UINT64_MAX;
        double pages = 0, bytes = 0;
        for (; i < n && entries[i].site == st->site; i++) {
            const hz3_site_entry_t *e = &entries[i];
            st->live_samples++;
            st->live_bytes_est += e->weight;
            if (e->time_ms < oldest) oldest = e->time_ms;
            double p, b;
            pinned_by(e, &p, &b);
            pages += p;
            bytes += b;
        }
        st->pinned_pages = (uint64_t)(pages * scale_pages + 0.5);
        st->pinned_bytes = (uint64_t)(bytes * scale_bytes + 0.5);
        st->oldest_age_ms = now > oldest ? now - oldest : 0;
    }
    heap_sort(stats, sites, sizeof *stats, by_live_bytes_desc);
    if (out) memcpy(out, stats, (sites < max ? sites : max) * sizeof *stats);
    pthread_mutex_unlock(&_hz3_site_census_lock);
    return sites;
}
