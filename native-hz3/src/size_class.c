/*
 * size_class.c: the size classes and the size -> class lookup.
 *
 * Spacing. 16 B steps up to 128 B, then HZ3_STEPS_PER_DOUBLING classes per
 * power of two (4 by default: 160, 192, 224, 256, 320, ...). Each class is a
 * set of spans, and every class in use keeps at least one partly used span
 * per thread, so fewer classes means fewer partial pages: hz3 measured
 * -43.7% RSS for -1.6% speed when it cut its 128 small classes down, and
 * bench/RESULTS.md has our own dist_app comparison of 4 against 8 steps
 * (build with -DHZ3_STEPS_PER_DOUBLING=8). The worst internal waste of 4
 * steps is 20% (a 1025 B request in a 1280 B block), against 11% for 8.
 *
 * The medium tier (3585..32768 B) goes on with HZ3_MEDIUM_STEPS_PER_DOUBLING
 * (4: 4096, 5120, 6144, 7168, 8192, 10240, ... 32768), 13 classes where it
 * had the 8 page multiples when each medium object was a span of its own;
 * the worst waste drops from 50% (4097 B in 8 KiB) to 20%.
 *
 * Span length. Small classes (<= 1024 B) grow from one page (up to
 * HZ3_SMALL_MAX_PAGES, 4) until they hold HZ3_SMALL_MIN_CAPACITY blocks (16).
 * Sub4k classes take the fewest pages (up to HZ3_SUB4K_MAX_PAGES, 16) that
 * hold HZ3_SUB4K_MIN_CAPACITY blocks (16) with a tail waste of at most 1/8
 * of the span: each of the seven holds exactly 16, in 5 (1280 B) to 14
 * (3584 B) pages, with nothing left over. With 8 blocks (3-7 pages) a
 * server's random-order churn (bench larson) found nearly every span full:
 * most frees moved a span off the full list and most mallocs after one or
 * two blocks needed the next span; 16 blocks cut larson's instructions per
 * malloc and free by a fifth, 32 (spans up to 28 pages) by a third, at +10%
 * and +20% peak RSS of a sub4k churn (bench/RESULTS.md, 2026-12-03).
 * Their spans are carved a few blocks at a time (span.c, carve_step), so a
 * class a thread uses for one or two objects writes a page or two of its
 * span, not all 5-14 (glibc_thread's peak RSS -10%; bench/RESULTS.md,
 * 2026-12-03 (evening)).
 *
 * Rejoin. A full span goes back on its owner's avail list when its owner's
 * frees leave capacity >> HZ3_REJOIN_SHIFT blocks free in it (a quarter),
 * at most HZ3_REJOIN_MAX (64) and at least 1 (span.c,
 * _hz3_free_local_slow), not at the first: a span taken back for one block
 * sends the next malloc back to the slow path, and each random free into a
 * full span took the heap lock. For sub4k (16 blocks, rejoin 4), larson's
 * instructions per malloc fell by 39% against the first free. For every
 * class (bench/RESULTS.md, 2026-12-03 (day)): alloc_test's (random frees of
 * a Pareto size up to 1 KiB) malloc from 206 to 33 instructions and its
 * free from 104 to 56, glibc_thread's malloc from 29 to 20, larson's from
 * 75 to 49, at +6% of alloc_test's peak RSS; a span freed in address order
 * pays instead a few instructions for each free before the rejoin
 * (glibc_simple's free +2.2, dist_app's +0.6). The classes of 85-256
 * blocks (16-48 B) rejoin at a quarter too, 21-64 blocks: a cap of 16
 * sent one malloc in 15 of alloc_test to the slow path for a span with 16
 * free blocks; without it alloc_test's malloc / free fell from 35.6 / 48.1
 * to 27.9 / 44.5 instructions (a cap of 32: 29.9 / 45.4), glibc_thread's
 * from 20.9 / 41.9 to 18.9 / 41.0, at +2-3% of alloc_test's peak RSS
 * (bench/RESULTS.md, 2026-12-03 (evening)). glibc_simple's free, +5.4
 * with no cap before a full span's used was biased, no longer moves. A
 * cap of 8 cost alloc_test's malloc 11.5. Medium classes up to HZ3_MEDIUM_SHARED_MAX (16 KiB) hold up to
 * HZ3_MEDIUM_CAPACITY blocks (16) in at most HZ3_MEDIUM_SPAN_PAGES pages
 * (32, 128 KiB), as many as fill whole pages: 16 blocks of 4-8 KiB (16-32
 * pages), 12 of 10 KiB, 10 of 12 KiB, 8 of 14 and 16 KiB. Their spans are
 * carved one block at a time (span.c, extend), so the pages of blocks never
 * handed out stay untouched. bench/RESULTS.md has the measurements of 4, 8,
 * 16 and 28 blocks: fewer refill far more often when a class has few live
 * objects, more pin more memory behind one live object. The classes above
 * (20, 24, 28 and 32 KiB, page multiples) are singles: one object in a span
 * of its page count, kept empty per heap for reuse (single.c).
 *
 * Why singles above 16 KiB and spans of at most 128 KiB (bench/RESULTS.md,
 * 2026-12-02): a JVM keeps some of its own medium objects for long (its
 * arena chunks are 32 KiB and 10 KiB less a few bytes, pooled and freed in
 * bulk by a cleaner thread every 5 s), so its survivors end up spread over
 * many spans. With 16 blocks of up to 32 KiB (spans up to 512 KiB), Steady's
 * recording showed 18 MiB of medium pages in partial spans, 77% of the
 * tier's resident pages; with spans capped at 128 KiB still 12 MiB, most of
 * it the 32 KiB class, whose live objects' own pages count as partial as
 * long as a freed neighbour shares their span. A single is never partial.
 */
#include "hz3_internal.h"

hz3_class_t _hz3_classes[HZ3_MAX_CLASSES];
hz3_free_check_t _hz3_free_check[HZ3_MAX_CLASSES];
uint8_t _hz3_class_of16[HZ3_CLASS_TAB_LEN];
unsigned _hz3_num_classes;

static void add_class(uint32_t size)
{
    hz3_class_t *c = &_hz3_classes[_hz3_num_classes++];
    c->size = size;
    c->divisible = UINT64_MAX / size + 1;   /* exact for 32-bit offsets (Lemire et al. 2019) */
    if (size <= HZ3_SMALL_MAX) {
        /* Enough blocks per span that the slow path stays rare. */
        c->tier = HZ3_TIER_SMALL;
        c->pages = 1;
        while (c->pages < HZ3_SMALL_MAX_PAGES && c->pages * HZ3_PAGE_SIZE / size < HZ3_SMALL_MIN_CAPACITY) c->pages++;
    } else if (size <= HZ3_SUB4K_MAX) {
        /* If no length meets the waste bound, the longest: a span of one
         * block would be taken for a run, which a free from another thread
         * gives straight back to the pool (span.c). */
        c->tier = HZ3_TIER_SUB4K;
        c->pages = HZ3_SUB4K_MAX_PAGES;
        for (uint16_t p = 1; p <= HZ3_SUB4K_MAX_PAGES; p++) {
            uint32_t bytes = p * HZ3_PAGE_SIZE, waste = bytes % size;
            if (waste * 8 <= bytes && bytes / size >= HZ3_SUB4K_MIN_CAPACITY) { c->pages = p; break; }
        }
    } else {
        /* The most blocks (up to HZ3_MEDIUM_CAPACITY) whose bytes are
         * whole pages within HZ3_MEDIUM_SPAN_PAGES: no tail waste. Above
         * HZ3_MEDIUM_SHARED_MAX, a page multiple: one block. */
        c->tier = HZ3_TIER_MEDIUM;
        uint32_t n = size > HZ3_MEDIUM_SHARED_MAX ? 1 : HZ3_MEDIUM_CAPACITY;
        while (n > 2 && (n * size > HZ3_MEDIUM_SPAN_PAGES * HZ3_PAGE_SIZE || n * size % HZ3_PAGE_SIZE)) n--;
        c->pages = (uint16_t)((n * size + HZ3_PAGE_SIZE - 1) / HZ3_PAGE_SIZE);
    }
    c->capacity = (uint16_t)(c->pages * HZ3_PAGE_SIZE / size);
    c->blocks_end = c->capacity * size;
    c->rejoin = 1;
    if ((c->capacity >> HZ3_REJOIN_SHIFT) > 1) c->rejoin = c->capacity >> HZ3_REJOIN_SHIFT;
    if (c->rejoin > HZ3_REJOIN_MAX) c->rejoin = HZ3_REJOIN_MAX;
}

void _hz3_classes_init(void)
{
    _hz3_num_classes = 0;
    for (uint32_t s = 16; s <= 128; s += 16) add_class(s);
    /* 16..128, then the doublings 128..4096 and 4096..HZ3_MEDIUM_MAX (3
     * of them); the class after the last is HZ3_CLASS_RUN's slot. */
    _Static_assert(8 + 5 * HZ3_STEPS_PER_DOUBLING + 3 * HZ3_MEDIUM_STEPS_PER_DOUBLING <= HZ3_CLASS_RUN,
                   "too many size classes");
    for (uint32_t base = 128; base < HZ3_MEDIUM_MAX; base *= 2) {
        uint32_t step = base / (base < 4096 ? HZ3_STEPS_PER_DOUBLING : HZ3_MEDIUM_STEPS_PER_DOUBLING);
        for (uint32_t s = base + step; s <= 2 * base; s += step) add_class(s);
    }

    /* Runs: one object at the span's start, so only offset 0 is a block. */
    hz3_class_t *run = &_hz3_classes[HZ3_CLASS_RUN];
    run->divisible = 1;
    run->blocks_end = 1;
    run->capacity = 1;
    run->tier = HZ3_TIER_LARGE;

    /* Every class gets its bound, the one compare of the free paths
     * (hz3_hot.h, _hz3_is_block_start_f). A class carved a few blocks at a
     * time (sub4k and shared medium, span.c) refuses the free of a block
     * never carved by its page's tag instead (HZ3_CLASS_REFUSE, whose slot
     * stays zero: bound 0 refuses every offset). */
    _Static_assert(8 + 5 * HZ3_STEPS_PER_DOUBLING + 3 * HZ3_MEDIUM_STEPS_PER_DOUBLING <= HZ3_CLASS_REFUSE,
                   "too many size classes");
    for (unsigned i = 0; i < HZ3_MAX_CLASSES; i++) {
        const hz3_class_t *c = &_hz3_classes[i];
        uint64_t divisible = c->divisible, e = 1;   /* runs: divisible 1, only offset 0 */
        if (c->size) {
            divisible = UINT64_MAX / c->size + 1 + !(c->size & (c->size - 1));
            e = divisible * c->size;   /* mod 2^64 */
        }
        _hz3_free_check[i] = (hz3_free_check_t){.divisible = divisible,
                                                .bound = c->capacity * e,
                                                .e = (uint32_t)e,
                                                .capacity = c->capacity};
    }

    unsigned c = 0;
    for (unsigned i = 0; i < HZ3_CLASS_TAB_LEN; i++) {
        while (_hz3_classes[c].size < i * 16) c++;
        _hz3_class_of16[i] = (uint8_t)c;
    }
}

int _hz3_class_aligned(size_t size, size_t align)
{
    if (size > HZ3_MEDIUM_MAX || align > HZ3_PAGE_SIZE) return -1;
    /* Spans start on a page, so a block is aligned when the class size is a
     * multiple of the alignment (the page-multiple classes always are). */
    for (unsigned c = _hz3_class_of(size < align ? align : size); c < _hz3_num_classes; c++)
        if (_hz3_classes[c].size % align == 0) return (int)c;
    return -1;
}
