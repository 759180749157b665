/*
 * sample.c: sampled allocations, kept until freed, with the call site the
 * thread's slot named when they were taken (include/hz3.h, "Sampled
 * allocations"; the slow-path side is in sample_list.c and in
 * _hz3_sample_big below).
 *
 * The side table holds the live samples by address: open addressing with
 * linear probing and backward-shift deletion (no tombstones, so it never
 * needs rebuilding), in SHARDS shards chosen by the address's hash, each
 * under its own spin lock: while a span holds a live sample every free of
 * that span comes here, from any thread, and most of them find nothing.
 * A second table counts the live samples per span, so that the free of a
 * span's last sample untags it. The tables, the ring hz3_samples_take
 * reads and the census's scratch come from hz3's metadata on first use,
 * bounded, and stay.
 *
 * Lock order: heap->lock > _hz3_site_census_lock > shard lock > span-count lock >
 * ring lock. The site census takes the pool lock holding only its own.
 */
#include <sched.h>
#include <string.h>
#include "hz3_hot.h"
#include "sample.h"

#define SHARDS 16
#define SHARD_SLOTS 1024u                      /* a power of two */
#define SHARD_MAX (SHARD_SLOTS * 3 / 4)        /* live samples a shard keeps */
#define SPAN_SLOTS (SHARDS * SHARD_SLOTS)      /* >= 4/3 of the most spans with samples */
#define PENDING 8                              /* token samples a thread remembers for rename */
#define LOST 4
_Static_assert(SHARDS * SHARD_MAX == HZ3_SAMPLE_CAPACITY, "include/hz3.h states the bound");

typedef struct sample {
    uint64_t addr;       /* 0: empty slot */
    uint64_t site, size, weight, time_ms;
    uint32_t tier, cls;
} sample_t;

typedef struct shard {
    _Atomic uint32_t lock;
    uint32_t live;
    sample_t *slot;
} __attribute__((aligned(64))) shard_t;

typedef struct span_count { uintptr_t span; uint64_t count; } span_count_t;

/* Per thread: the slot the Java agent writes, the random state, the
 * interval of the objects above the span classes, and the samples taken
 * under a token site (bit 63), so that renaming a token costs a few
 * look-ups rather than a scan of the table. */
typedef struct thread_sampling {
    struct hz3_site_slot slot;
    uint64_t rng;
    uint64_t big_left, big_gen;
    uint64_t pending_addr[PENDING], pending_site[PENDING];
    uint64_t lost_site[LOST];   /* tokens whose pending entries were pushed out */
    unsigned pending_next;
    bool lost_many;             /* more than LOST of them: every token rename scans */
    bool own;                   /* hz3's own allocations on this thread: not sampled */
} thread_sampling_t;
static HZ3_TLS thread_sampling_t tl;

_Atomic uint64_t _hz3_sample_mean;
_Atomic uint64_t _hz3_sample_gen;
static _Atomic bool ready;
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t _hz3_site_census_lock = PTHREAD_MUTEX_INITIALIZER;
static shard_t shards[SHARDS];
static span_count_t *span_counts;
static _Atomic uint32_t span_lock;
static struct hz3_sample_rec *ring;
static uint64_t ring_head, ring_tail;
static _Atomic uint32_t ring_lock;
static _Atomic uint64_t n_taken, n_dropped, n_ring_dropped, n_freed, n_live, mappings_live;

/* ---- small pieces ---- */

static void spin_lock(_Atomic uint32_t *l)
{
    for (unsigned spins = 0; atomic_exchange_explicit(l, 1, memory_order_acquire); spins++) {
        while (atomic_load_explicit(l, memory_order_relaxed)) {
            if (spins++ < 64) __builtin_ia32_pause();
            else sched_yield();
        }
    }
}
static void spin_unlock(_Atomic uint32_t *l) { atomic_store_explicit(l, 0, memory_order_release); }

static uint64_t mix(uint64_t a) { return (a >> 4) * 0x9e3779b97f4a7c15ull; }
static shard_t *shard_of(uint64_t addr) { return &shards[mix(addr) >> 60]; }
static size_t home(uint64_t key, size_t mask) { return (size_t)(mix(key) >> 20) & mask; }

static uint64_t next_random(void)
{
    if (!tl.rng) tl.rng = (uint64_t)(uintptr_t)&tl ^ __builtin_ia32_rdtsc() ^ _hz3_free_key;
    uint64_t z = (tl.rng += 0x9e3779b97f4a7c15ull);   /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ln and exp without libm (the allocator links nothing it does not need):
 * a series good to about 1e-10, far below the sampling noise. */
static double ln_pos(double x)
{
    union { double d; uint64_t u; } v = { x };
    int e = (int)((v.u >> 52) & 0x7ff) - 1023;
    v.u = (v.u & ~(0x7ffull << 52)) | (1023ull << 52);   /* mantissa in [1, 2) */
    double m = v.d;
    if (m > 1.4142135623730951) { m *= 0.5; e++; }
    double z = (m - 1) / (m + 1), z2 = z * z;            /* ln m = 2 atanh z, |z| < 0.18 */
    double s = z * (2 + z2 * (2.0 / 3 + z2 * (2.0 / 5 + z2 * (2.0 / 7 + z2 * (2.0 / 9 + z2 * (2.0 / 11))))));
    return s + e * 0.6931471805599453;
}

static double exp_neg(double x)   /* e^-x, x >= 0 */
{
    if (x > 700) return 0;
    int k = (int)(x / 0.6931471805599453);
    double r = x - k * 0.6931471805599453, t = 1, s = 1;
    for (int n = 1; n <= 14; n++) {
        t *= -r / n;
        s += t;
    }
    union { double d; uint64_t u; } v = { s };
    v.u -= (uint64_t)k << 52;   /* s / 2^k: s is near 1, so the exponent stays normal */
    return v.d;
}

uint64_t _hz3_sample_interval(uint64_t mean)
{
    double u = (double)((next_random() >> 11) + 1) * 0x1p-53;   /* (0, 1] */
    return (uint64_t)(-ln_pos(u) * (double)mean);
}

uint64_t _hz3_sample_blocks(uint64_t mean, uint64_t sz)
{
    uint64_t b = _hz3_sample_interval(mean);
    return sz ? b / sz : b;   /* classes past the last have size 0 and are never charged */
}

/* An object charged c bytes is sampled when a point of the Poisson process
 * of rate 1/mean falls in them: probability 1 - e^(-c/mean). Its weight is
 * its size over that probability (Horvitz-Thompson: unbiased). */
static uint64_t weight_of(uint64_t size, uint64_t charged, uint64_t mean)
{
    double x = (double)charged / (double)mean;
    double p = x < 1e-3 ? x * (1 - x * (0.5 - x / 6)) : 1 - exp_neg(x);
    return (uint64_t)((double)size / p + 0.5);
}

/* ---- the tables (shard or span-count lock held) ---- */

static sample_t *table_find(shard_t *sh, uint64_t addr)
{
    for (size_t i = home(addr, SHARD_SLOTS - 1); sh->slot[i].addr; i = (i + 1) & (SHARD_SLOTS - 1))
        if (sh->slot[i].addr == addr) return &sh->slot[i];
    return NULL;
}

static bool table_insert(shard_t *sh, const sample_t *e)
{
    if (sh->live >= SHARD_MAX) return false;
    size_t i = home(e->addr, SHARD_SLOTS - 1);
    while (sh->slot[i].addr) i = (i + 1) & (SHARD_SLOTS - 1);
    sh->slot[i] = *e;
    sh->live++;
    return true;
}

/* True when home h lies cyclically in (i, j]: the entry at j may not move to i. */
static bool stays(size_t h, size_t i, size_t j)
{
    return i <= j ? (h > i && h <= j) : (h > i || h <= j);
}

static void table_erase(shard_t *sh, sample_t *e)
{
    size_t i = (size_t)(e - sh->slot), j = i;
    for (;;) {
        j = (j + 1) & (SHARD_SLOTS - 1);
        if (!sh->slot[j].addr) break;
        if (stays(home(sh->slot[j].addr, SHARD_SLOTS - 1), i, j)) continue;
        sh->slot[i] = sh->slot[j];
        i = j;
    }
    sh->slot[i].addr = 0;
    sh->live--;
}

/* Adds delta to the span's count of live samples; returns the new count. */
static uint64_t span_count_add(uintptr_t span, int delta)
{
    size_t i = home(span, SPAN_SLOTS - 1);
    while (span_counts[i].span && span_counts[i].span != span) i = (i + 1) & (SPAN_SLOTS - 1);
    if (!span_counts[i].span) span_counts[i].span = span;
    uint64_t n = span_counts[i].count += (uint64_t)(int64_t)delta;
    if (n) return n;
    size_t j = i;
    for (;;) {
        j = (j + 1) & (SPAN_SLOTS - 1);
        if (!span_counts[j].span) break;
        if (stays(home(span_counts[j].span, SPAN_SLOTS - 1), i, j)) continue;
        span_counts[i] = span_counts[j];
        i = j;
    }
    span_counts[i].span = 0;
    span_counts[i].count = 0;
    return 0;
}

static void ring_push(const sample_t *e)
{
    spin_lock(&ring_lock);
    if (ring_head - ring_tail == HZ3_SAMPLE_RING) {
        atomic_fetch_add_explicit(&n_ring_dropped, 1, memory_order_relaxed);
    } else {
        ring[ring_head++ % HZ3_SAMPLE_RING] =
            (struct hz3_sample_rec){ e->addr, e->size, e->weight, e->site, e->time_ms, e->tier, e->cls };
    }
    spin_unlock(&ring_lock);
}

static void pending_note(uint64_t addr, uint64_t site)
{
    unsigned k = tl.pending_next++ % PENDING;
    uint64_t old = tl.pending_site[k];
    if (old) {   /* pushed out before its rename: that token's rename scans */
        unsigned f = 0;
        while (f < LOST && tl.lost_site[f] && tl.lost_site[f] != old) f++;
        if (f == LOST) tl.lost_many = true;
        else tl.lost_site[f] = old;
    }
    tl.pending_addr[k] = addr;
    tl.pending_site[k] = site;
}

/* ---- what the slow paths and the generic free call ---- */

void _hz3_sample_redraw(hz3_heap_t *h, uint64_t mean)
{
    for (unsigned c = 0; c < HZ3_MAX_CLASSES; c++) h->sample_left[c] = _hz3_sample_blocks(mean, _hz3_classes[c].size);
    h->sample_gen = atomic_load_explicit(&_hz3_sample_gen, memory_order_relaxed);
}

void _hz3_sample_take(void *p, size_t size, uint64_t charged, unsigned cls, hz3_span_t *s, uint64_t mean)
{
    if (HZ3_UNLIKELY(tl.own)) return;
    uint64_t site = tl.slot.site;
    if (site) tl.slot.sampled = tl.slot.sampled + 1;
    bool in_class = s && s->cls != HZ3_CLASS_RUN;
    sample_t e = {
        .addr = (uintptr_t)p, .site = site, .size = size, .weight = weight_of(size, charged, mean),
        .time_ms = _hz3_wall_ms(), .tier = in_class ? _hz3_classes[cls].tier : HZ3_TIER_LARGE,
        .cls = in_class ? cls : UINT32_MAX,
    };
    atomic_fetch_add_explicit(&n_taken, 1, memory_order_relaxed);
    ring_push(&e);
    shard_t *sh = shard_of(e.addr);
    spin_lock(&sh->lock);
    bool kept = table_insert(sh, &e);
    spin_unlock(&sh->lock);
    if (!kept) {
        atomic_fetch_add_explicit(&n_dropped, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&n_live, 1, memory_order_relaxed);
    if (site >> 63) pending_note(e.addr, site);
    if (!s) {
        atomic_fetch_add_explicit(&mappings_live, 1, memory_order_relaxed);
        return;
    }
    spin_lock(&span_lock);
    if (span_count_add((uintptr_t)s, 1) == 1) {
        __atomic_fetch_or((uintptr_t *)&s->owner, HZ3_OWNER_SAMPLED, __ATOMIC_RELEASE);
        _hz3_tags_or(s, HZ3_TAG_SAMPLED);
    }
    spin_unlock(&span_lock);
}

void _hz3_sample_own(bool own) { tl.own = own; }

void _hz3_sample_big(void *p, size_t size)
{
    uint64_t mean = atomic_load_explicit(&_hz3_sample_mean, memory_order_acquire);
    if (!mean || !p) return;
    uint64_t gen = atomic_load_explicit(&_hz3_sample_gen, memory_order_relaxed);
    if (tl.big_gen != gen) {
        tl.big_left = _hz3_sample_interval(mean);
        tl.big_gen = gen;
    }
    if (tl.big_left >= size) {
        tl.big_left -= size;
        return;
    }
    size_t off;
    hz3_span_t *s = _hz3_is_segment((uintptr_t)p) ? _hz3_span_of(p, &off) : NULL;
    _hz3_sample_take(p, size, size, HZ3_CLASS_RUN, s, mean);
    tl.big_left = _hz3_sample_interval(mean);
}

void _hz3_sample_forget(hz3_span_t *s, const void *p)
{
    if (!atomic_load_explicit(&ready, memory_order_acquire)) return;
    shard_t *sh = shard_of((uintptr_t)p);
    spin_lock(&sh->lock);
    sample_t *e = table_find(sh, (uintptr_t)p);
    if (e) table_erase(sh, e);
    spin_unlock(&sh->lock);
    if (!e) return;
    atomic_fetch_sub_explicit(&n_live, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_freed, 1, memory_order_relaxed);
    if (!s) {
        atomic_fetch_sub_explicit(&mappings_live, 1, memory_order_relaxed);
        return;
    }
    spin_lock(&span_lock);
    if (span_count_add((uintptr_t)s, -1) == 0) {
        __atomic_fetch_and((uintptr_t *)&s->owner, ~HZ3_OWNER_SAMPLED, __ATOMIC_RELEASE);
        _hz3_tags_and(s, ~HZ3_TAG_SAMPLED);
    }
    spin_unlock(&span_lock);
}

bool _hz3_sample_mappings_live(void)
{
    return atomic_load_explicit(&mappings_live, memory_order_relaxed) != 0;
}

void _hz3_sample_moved(const void *from, const void *to, size_t size)
{
    if (!_hz3_sample_mappings_live()) return;
    shard_t *sh = shard_of((uintptr_t)from);
    spin_lock(&sh->lock);
    sample_t *e = table_find(sh, (uintptr_t)from), copy;
    if (e) {
        copy = *e;
        table_erase(sh, e);
    }
    spin_unlock(&sh->lock);
    if (!e) return;
    copy.addr = (uintptr_t)to;
    copy.size = size;
    sh = shard_of(copy.addr);
    spin_lock(&sh->lock);
    bool kept = table_insert(sh, &copy);
    spin_unlock(&sh->lock);
    if (!kept) {
        atomic_fetch_sub_explicit(&n_live, 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&mappings_live, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&n_dropped, 1, memory_order_relaxed);
    }
}

void _hz3_samples_lock_all(void)
{
    pthread_mutex_lock(&_hz3_site_census_lock);
    pthread_mutex_lock(&setup_lock);
    for (unsigned i = 0; i < SHARDS; i++) spin_lock(&shards[i].lock);
    spin_lock(&span_lock);
    spin_lock(&ring_lock);
}

void _hz3_samples_unlock_all(void)
{
    spin_unlock(&ring_lock);
    spin_unlock(&span_lock);
    for (unsigned i = SHARDS; i-- > 0;) spin_unlock(&shards[i].lock);
    pthread_mutex_unlock(&setup_lock);
    pthread_mutex_unlock(&_hz3_site_census_lock);
}

void _hz3_samples_after_fork_child(void)
{
    for (unsigned i = 0; i < SHARDS; i++) atomic_store_explicit(&shards[i].lock, 0, memory_order_relaxed);
    atomic_store_explicit(&span_lock, 0, memory_order_relaxed);
    atomic_store_explicit(&ring_lock, 0, memory_order_relaxed);
    pthread_mutex_init(&setup_lock, NULL);
    pthread_mutex_init(&_hz3_site_census_lock, NULL);
}

/* ---- the public interface ---- */

static bool setup(void)
{
    if (atomic_load_explicit(&ready, memory_order_acquire)) return true;
    pthread_mutex_lock(&setup_lock);
    bool ok = atomic_load_explicit(&ready, memory_order_relaxed);
    if (!ok) {
        sample_t *slots = _hz3_meta_alloc((size_t)SHARDS * SHARD_SLOTS * sizeof(sample_t));
        span_counts = _hz3_meta_alloc(SPAN_SLOTS * sizeof(span_count_t));
        ring = _hz3_meta_alloc(HZ3_SAMPLE_RING * sizeof *ring);
        ok = slots && span_counts && ring;
        if (ok) {
            for (unsigned i = 0; i < SHARDS; i++) shards[i].slot = slots + (size_t)i * SHARD_SLOTS;
            atomic_store_explicit(&ready, true, memory_order_release);
        }
    }
    pthread_mutex_unlock(&setup_lock);
    return ok;
}

HZ3_EXPORT int hz3_sampling_set(uint64_t mean_bytes)
{
    if (mean_bytes != 0 && (mean_bytes < 1024 || mean_bytes > ((uint64_t)1 << 40))) return -1;
    _hz3_ensure_init();
    if (mean_bytes && !setup()) return -1;
    atomic_fetch_add_explicit(&_hz3_sample_gen, 1, memory_order_relaxed);
    atomic_store_explicit(&_hz3_sample_mean, mean_bytes, memory_order_release);
    if (mean_bytes) {
        /* the mean's store before the limits' loads: against an arm that
         * stores a limit and then reads the mean (bcache.c) */
        atomic_thread_fence(memory_order_seq_cst);
        _hz3_heaps_bcache_disarm();
    }
    return 0;
}

HZ3_EXPORT struct hz3_site_slot *hz3_site_slot(void)
{
    return &tl.slot;
}

static int relabel(uint64_t addr, uint64_t from, uint64_t to)
{
    shard_t *sh = shard_of(addr);
    spin_lock(&sh->lock);
    sample_t *e = table_find(sh, addr);
    bool hit = e && e->site == from;
    if (hit) e->site = to;
    spin_unlock(&sh->lock);
    return hit;
}

HZ3_EXPORT int hz3_site_rename(uint64_t from, uint64_t to)
{
    if (!atomic_load_explicit(&ready, memory_order_acquire) || from == to) return 0;
    int n = 0;
    bool lost = tl.lost_many;
    for (unsigned f = 0; f < LOST; f++) {
        if (tl.lost_site[f] == from) {
            lost = true;
            tl.lost_site[f] = 0;
        }
    }
    if (from >> 63) {   /* a token: its samples were taken by this thread (include/hz3.h) */
        for (unsigned k = 0; k < PENDING; k++) {
            if (tl.pending_site[k] != from) continue;
            n += relabel(tl.pending_addr[k], from, to);
            tl.pending_site[k] = 0;
        }
        if (!lost) return n;
    }
    for (unsigned i = 0; i < SHARDS; i++) {
        shard_t *sh = &shards[i];
        spin_lock(&sh->lock);
        for (size_t j = 0; j < SHARD_SLOTS; j++) {
            if (sh->slot[j].addr && sh->slot[j].site == from) {
                sh->slot[j].site = to;
                n++;
            }
        }
        spin_unlock(&sh->lock);
    }
    return n;
}

HZ3_EXPORT size_t hz3_samples_take(struct hz3_sample_rec *out, size_t max)
{
    if (!atomic_load_explicit(&ready, memory_order_acquire) || !out) return 0;
    spin_lock(&ring_lock);
    size_t n = 0;
    for (; n < max && ring_tail != ring_head; n++) out[n] = ring[ring_tail++ % HZ3_SAMPLE_RING];
    spin_unlock(&ring_lock);
    return n;
}

HZ3_EXPORT void hz3_sampling_stats_get(struct hz3_sampling_stats *out)
{
    if (!out) return;
    out->mean_bytes = atomic_load_explicit(&_hz3_sample_mean, memory_order_relaxed);
    out->samples_taken = atomic_load_explicit(&n_taken, memory_order_relaxed);
    out->samples_live = atomic_load_explicit(&n_live, memory_order_relaxed);
    out->table_dropped = atomic_load_explicit(&n_dropped, memory_order_relaxed);
    out->ring_dropped = atomic_load_explicit(&n_ring_dropped, memory_order_relaxed);
    out->samples_freed = atomic_load_explicit(&n_freed, memory_order_relaxed);
}

size_t _hz3_samples_copy(hz3_site_entry_t *out)
{
    size_t n = 0;
    if (!atomic_load_explicit(&ready, memory_order_acquire)) return 0;
    for (unsigned i = 0; i < SHARDS; i++) {
        shard_t *sh = &shards[i];
        spin_lock(&sh->lock);
        for (size_t j = 0; j < SHARD_SLOTS && n < HZ3_SAMPLE_CAPACITY; j++) {
            const sample_t *e = &sh->slot[j];
            if (!e->addr) continue;
            out[n++] = (hz3_site_entry_t){ .addr = e->addr, .site = e->site, .size = e->size, .weight = e->weight,
                                            .time_ms = e->time_ms };
        }
        spin_unlock(&sh->lock);
    }
    return n;
}
