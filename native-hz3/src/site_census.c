/*
 * site_census.c: hz3_site_census, the live samples grouped by call site,
 * with an estimate of the partial pages their objects pin (definitions in
 * include/hz3.h).
 *
 * Pinning is estimated per size class. The spans that hold a sample are a
 * small part of those a site's objects sit on: one sample stands for about
 * weight/size objects, most of them on pages no sample touches. So each
 * class's exact figures are read first (its partial spans' resident pages,
 * the live blocks on them, and those pages' unused bytes), and each site
 * gets the share of them that its estimated objects on partial spans of
 * that class make of the class's live blocks there. The shares of a class
 * add up to at most its partial pages, whatever the sampling noise.
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

/* Per size class, its partly used spans (exact) and the sites' estimated
 * objects on them; census lock held. */
typedef struct class_pin {
    uint64_t pages;        /* resident pages of partial spans */
    uint64_t live;         /* live blocks on partial spans */
    uint64_t free_bytes;   /* those pages' bytes no live block uses */
    double objects;        /* all sites' estimated objects on partial spans */
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

static int by_site_then_class(const void *a, const void *b)
{
    const hz3_site_entry_t *x = a, *y = b;
    if (x->site != y->site) return x->site < y->site ? -1 : 1;
    return x->cls < y->cls ? -1 : x->cls > y->cls;
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

/* The objects a sample stands for: its weight is its size over the
 * probability that it was sampled. */
static double objects_of(const hz3_site_entry_t *e)
{
    return e->size ? (double)e->weight / (double)e->size : 0;
}

/* A site's share of class c, for its estimated objects on partial spans:
 * over the class's live blocks there, or over all sites' estimate when
 * sampling noise puts that above the exact count. */
static void add_share(struct hz3_site_stat *st, unsigned c, double objects)
{
    const class_pin_t *p = &pins[c];
    double all = p->objects > (double)p->live ? p->objects : (double)p->live;
    if (objects <= 0 || all <= 0) return;
    double f = objects / all;
    st->pinned_pages += (uint64_t)((double)p->pages * f + 0.5);
    st->pinned_bytes += (uint64_t)((double)p->free_bytes * f + 0.5);
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
    for (size_t i = 0; i < n; i++)
        if (entries[i].partial) pins[entries[i].cls].objects += objects_of(&entries[i]);
    heap_sort(entries, n, sizeof *entries, by_site_then_class);

    uint64_t now = _hz3_wall_ms();
    size_t sites = 0;
    for (size_t i = 0; i < n;) {
        struct hz3_site_stat *st = &stats[sites++];
        memset(st, 0, sizeof *st);
        st->site = entries[i].site;
        uint64_t oldest = UINT64_MAX;
        unsigned cls = UINT32_MAX;
        double objects = 0;   /* of class cls, on partial spans */
        for (; i < n && entries[i].site == st->site; i++) {
            const hz3_site_entry_t *e = &entries[i];
            st->live_samples++;
            st->live_bytes_est += e->weight;
            if (e->time_ms < oldest) oldest = e->time_ms;
            if (e->cls != cls) {
                if (cls != UINT32_MAX) add_share(st, cls, objects);
                cls = e->cls;
                objects = 0;
            }
            if (e->partial) objects += objects_of(e);
        }
        if (cls != UINT32_MAX) add_share(st, cls, objects);
        st->oldest_age_ms = now > oldest ? now - oldest : 0;
    }
    heap_sort(stats, sites, sizeof *stats, by_live_bytes_desc);
    if (out) memcpy(out, stats, (sites < max ? sites : max) * sizeof *stats);
    pthread_mutex_unlock(&_hz3_site_census_lock);
    return sites;
}
