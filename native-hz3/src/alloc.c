/*
 * alloc.c: the exported malloc family, and the out-of-line halves of
 * malloc and free that the fast paths in hz3_hot.h fall back to.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "hz3_hot.h"
#include "sample.h"

#define CALLER __builtin_return_address(0)

/* ---- out-of-line paths ---- */

/* With sampling on, the fast path's miss branch comes here each time a
 * span's free list runs dry (as often as every other malloc under churn):
 * the list taken over is then charged against the blocks before the class's
 * next sample point. Its length needs no walk: with free empty, every
 * carved block not counted in used is on local_free (hz3_types.h). So the
 * usual case, no point inside the list, is a few loads and stores here,
 * with no call and no register saved; NULL sends the rest to alloc_class
 * (a point inside it, sampling turned on or off since this heap's draw,
 * both lists empty, the empty heap of a thread not set up). With sampling
 * never turned on, sample_left is 0 and no list passes. */
static inline __attribute__((always_inline)) void *take_over_charged(hz3_heap_t *h, unsigned cls)
{
    hz3_span_t *s = h->cur[cls];
    hz3_block_t *b = s->local_free;
    if (!b || s->free) return NULL;
    uint64_t n = s->extended - _hz3_used_get(s);
    if (h->sample_gen != atomic_load_explicit(&_hz3_sample_gen, memory_order_relaxed) || n > h->sample_left[cls])
        return NULL;
    h->sample_left[cls] -= n;
    s->local_free = NULL;
    s->free = b->next;
    _hz3_key_clear(b);
    _hz3_used_inc(s);
    return b;
}

static inline __attribute__((always_inline)) void *alloc_class(hz3_heap_t *h, unsigned cls, size_t size)
{
    hz3_span_t *s = h->cur[cls];
    hz3_block_t *b = s->free;
    /* free ran dry: the blocks the owner freed since wait on local_free
     * (hz3_types.h). Taking them over needs no lock (both lists are the
     * owner's, and no purge takes a current span); with sampling on,
     * _hz3_sample_charge (sample.h) charges the list and cuts it where a
     * sample point falls inside (which take_over_charged left to here). */
    if (!b && s->local_free) {
        b = s->free = s->local_free;
        s->local_free = NULL;
        uint64_t mean = atomic_load_explicit(&_hz3_sample_mean, memory_order_relaxed);
        if (mean) return _hz3_span_pop_sampled(h, s, cls, size, mean);
    }
    if (HZ3_LIKELY(b != NULL)) {
        s->free = b->next;
        _hz3_key_clear(b);
        _hz3_used_set(s, _hz3_used_get(s) + 1);
        return b;
    }
    void *p = _hz3_span_alloc_slow(h, cls, size);
    if (!p) errno = ENOMEM;
    return p;
}

static hz3_heap_t *heap_or_init(void)
{
    hz3_heap_t *h = _hz3_tl_heap;
    if (HZ3_UNLIKELY(h == &_hz3_heap_empty)) h = _hz3_heap_init_thread();
    return h;
}

/* Objects above the span classes: sampling counts them here, on their own
 * slow path (sample.c). */
static void *alloc_big(size_t size, size_t align, bool zero)
{
    void *p = align <= HZ3_PAGE_SIZE && size <= HZ3_RUN_MAX ? _hz3_run_alloc(size, zero)
                                                          : _hz3_large_alloc(size, align, zero);
    if (HZ3_UNLIKELY(atomic_load_explicit(&_hz3_sample_mean, memory_order_relaxed) != 0)) _hz3_sample_big(p, size);
    return p;
}

/* A class's slow path, apart from the charged takeover: out of line, so
 * that _hz3_malloc_generic saves no register on its way through, and one
 * frame with alloc_class inside. */
static HZ3_NOINLINE void *malloc_class(hz3_heap_t *h, unsigned cls, size_t size, bool zero)
{
    if (HZ3_UNLIKELY(h == &_hz3_heap_empty) && !(h = _hz3_heap_init_thread())) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = size > HZ3_MEDIUM_SHARED_MAX ? _hz3_single_alloc(h, cls, size) : alloc_class(h, cls, size);
    if (p && zero) memset(p, 0, size);
    return p;
}

HZ3_NOINLINE void *_hz3_malloc_generic(size_t size, bool zero)
{
    /* A malloc before any other (a library's constructor that runs before
     * hz3's: a preload listed after it, or the program's preinit) reaches
     * here from the fast path, which read class 0 from the empty table:
     * the class is looked up again below, once the tables exist. */
    _hz3_ensure_init();
    /* A single's malloc comes here every time (single.c): first, and a
     * tail call when the thread has a heap. */
    if (size - (HZ3_MEDIUM_SHARED_MAX + 1) < HZ3_MEDIUM_MAX - HZ3_MEDIUM_SHARED_MAX && !zero) {
        hz3_heap_t *h = _hz3_tl_heap;
        if (HZ3_LIKELY(h != &_hz3_heap_empty)) return _hz3_single_alloc(h, _hz3_class_of(size), size);
    }
    if (size > HZ3_MEDIUM_MAX) return alloc_big(size, 0, zero);
    unsigned cls = _hz3_class_of(size);
    hz3_heap_t *h = _hz3_tl_heap;
    if (zero) return malloc_class(h, cls, size, true);
    /* The class's block cache is empty: the fast path pops it first
     * (hz3_hot.h). */
    void *p = take_over_charged(h, cls);
    return p ? p : malloc_class(h, cls, size, false);
}

static void *alloc_aligned(size_t align, size_t size)
{
    if (align <= HZ3_ALIGN_MIN) return _hz3_malloc_fast(size);
    _hz3_ensure_init();   /* the class tables, for an aligned first malloc */
    int cls = _hz3_class_aligned(size, align);
    if (cls >= 0) {
        hz3_heap_t *h = heap_or_init();
        if (!h) {
            errno = ENOMEM;
            return NULL;
        }
        return alloc_class(h, (unsigned)cls, size);
    }
    return alloc_big(size, align, false);   /* runs start on a page */
}

/* Frees a block the checks below found valid. A span tagged as holding a
 * live sample sends every free here (hz3_types.h): forget the sample
 * first, if this is one. */
static void free_checked(hz3_span_t *s, hz3_block_t *b, hz3_heap_t *h)
{
    if (HZ3_UNLIKELY(_hz3_owner_tagged(s))) _hz3_sample_forget(s, b);
    if (_hz3_owner_of(s) == h) {
        b->next = s->local_free;
        _hz3_key_set(b);
        s->local_free = b;
        unsigned used = _hz3_used_get(s) - 1;
        _hz3_used_set(s, used);
        if (used == 0 || _hz3_where_get(s) == HZ3_WHERE_FULL) _hz3_free_local_slow(h, s);
    } else {
        _hz3_free_remote(s, b);
    }
}

/* Looks a pointer up; reports it and returns NULL when it is not the start
 * of a live object in a segment. *large is set for a large object. An
 * object that is free already is a double free when freeing, else not live. */
static hz3_span_t *find_object(void *p, const void *caller, const char *fn, bool freeing, bool *large)
{
    enum hz3_bad freed = freeing ? HZ3_BAD_DOUBLE_FREE : HZ3_BAD_NOT_LIVE;
    *large = false;
    if (!_hz3_is_segment((uintptr_t)p)) {
        if (_hz3_large_usable(p)) *large = true;
        else if (_hz3_freed_recently(p)) _hz3_bad_pointer(fn, p, freed, caller);
        else _hz3_bad_pointer(fn, p, _hz3_large_owns((uintptr_t)p) ? HZ3_BAD_INTERIOR : HZ3_BAD_FOREIGN, caller);
        return NULL;
    }
    size_t off;
    hz3_span_t *s = _hz3_span_of(p, &off);
    if (s->kind != HZ3_SPAN_HEAD || off >= (size_t)s->pages << HZ3_PAGE_SHIFT) {
        _hz3_bad_pointer(fn, p, _hz3_freed_recently(p) ? freed : HZ3_BAD_NOT_LIVE, caller);
        return NULL;
    }
    if (!_hz3_is_block_start(s, off)) {
        /* A block start the span has not carved yet was never handed out. */
        const hz3_class_t *c = &_hz3_classes[s->cls];
        bool on_grid = off * c->divisible < c->divisible && off < c->blocks_end;
        _hz3_bad_pointer(fn, p, on_grid ? HZ3_BAD_NOT_LIVE : HZ3_BAD_INTERIOR, caller);
        return NULL;
    }
    /* A block that carries the free key and is on one of its span's free
     * lists is free already (a double free that is not the latest free,
     * or one from another thread). Runs are not keyed. */
    hz3_block_t *b = p;
    bool mine = _hz3_owner_of(s) == _hz3_tl_heap;
    if ((mine && (b == s->free || b == s->local_free)) || hz3_tf_ptr(atomic_load_explicit(&s->thread_free, memory_order_relaxed)) == b ||
        (s->cls != HZ3_CLASS_RUN && _hz3_key_found(b) && _hz3_span_has_free(s, b))) {
        _hz3_bad_pointer(fn, p, freed, caller);
        return NULL;
    }
    return s;
}

HZ3_NOINLINE void _hz3_free_generic(void *p, const void *caller, const char *fn)
{
    if (!p) return;
    bool large;
    hz3_span_t *s = find_object(p, caller, fn, true, &large);
    if (large) {
        if (HZ3_UNLIKELY(_hz3_sample_mappings_live())) _hz3_sample_forget(NULL, p);
        _hz3_large_free(p);
        return;
    }
    if (!s) return;
    free_checked(s, p, _hz3_tl_heap);
}

size_t _hz3_usable_size(const void *p, const void *caller, const char *fn)
{
    bool large;
    hz3_span_t *s = find_object((void *)p, caller, fn, false, &large);
    if (large) return _hz3_large_usable(p);
    if (!s) return 0;
    return s->cls == HZ3_CLASS_RUN ? _hz3_run_usable(s) : _hz3_classes[s->cls].size;
}

/* ---- the exported family ---- */

HZ3_EXPORT void *HZ3_SYM(malloc)(size_t size)
{
    return _hz3_malloc_fast(size);
}

HZ3_EXPORT void HZ3_SYM(free)(void *p)
{
    if (HZ3_UNLIKELY(!_hz3_free_fast(p))) _hz3_free_generic(p, CALLER, "free");
}

HZ3_EXPORT void *HZ3_SYM(calloc)(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (total > HZ3_MEDIUM_MAX) return _hz3_malloc_generic(total, true);
    void *p = _hz3_malloc_fast(total);
    if (p) memset(p, 0, total);
    return p;
}

HZ3_EXPORT void *HZ3_SYM(realloc)(void *p, size_t size)
{
    if (!p) return _hz3_malloc_fast(size);
    if (size == 0) {   /* as glibc: free and return NULL */
        _hz3_free_generic(p, CALLER, "realloc");
        return NULL;
    }
    size_t usable = _hz3_usable_size(p, CALLER, "realloc");
    if (!usable) return NULL;   /* reported (HZ3_ON_ERROR=warn) */
    if (usable > HZ3_RUN_MAX) {
        void *q = _hz3_large_realloc(p, size);
        if (q && q != p) _hz3_sample_moved(p, q, size);
        if (q) return q;
    } else if (size <= usable && size > usable / 2) {
        return p;   /* same class or close enough: keep it */
    }
    void *q = _hz3_malloc_fast(size);
    if (!q) return NULL;   /* errno is ENOMEM, p is untouched */
    memcpy(q, p, size < usable ? size : usable);
    _hz3_free_generic(p, CALLER, "realloc");
    return q;
}

HZ3_EXPORT void *HZ3_SYM(reallocarray)(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return HZ3_SYM(realloc)(p, total);
}

static bool power_of_two(size_t a) { return a && !(a & (a - 1)); }

HZ3_EXPORT int HZ3_SYM(posix_memalign)(void **out, size_t align, size_t size)
{
    if (!power_of_two(align) || align % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = alloc_aligned(align, size);
    errno = saved;
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

HZ3_EXPORT void *HZ3_SYM(aligned_alloc)(size_t align, size_t size)
{
    if (!power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    return alloc_aligned(align, size);
}

HZ3_EXPORT void *HZ3_SYM(memalign)(size_t align, size_t size)
{
    /* as glibc: an alignment that is not a power of two is rounded up */
    if (!power_of_two(align)) {
        if (align > ((size_t)1 << 62)) {
            errno = EINVAL;
            return NULL;
        }
        size_t a = 1;
        while (a < align) a <<= 1;
        align = a;
    }
    return alloc_aligned(align, size);
}

HZ3_EXPORT void *HZ3_SYM(valloc)(size_t size)
{
    return alloc_aligned(HZ3_PAGE_SIZE, size);
}

HZ3_EXPORT void *HZ3_SYM(pvalloc)(size_t size)
{
    if (size > SIZE_MAX - HZ3_PAGE_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc_aligned(HZ3_PAGE_SIZE, size ? _hz3_align_up(size, HZ3_PAGE_SIZE) : HZ3_PAGE_SIZE);
}

HZ3_EXPORT size_t HZ3_SYM(malloc_usable_size)(void *p)
{
    return p ? _hz3_usable_size(p, CALLER, "malloc_usable_size") : 0;
}
