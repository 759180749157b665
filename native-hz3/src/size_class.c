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
 * Span length. Small classes (<= 1024 B) use one page. Above, a span takes
 * the fewest pages (up to 3) whose tail waste is at most 1/8 of the span:
 * 1536 B fits 2 in a page with 1 KiB left over but 5 in two pages with
 * 512 B, so it takes two pages. Medium classes are page multiples holding
 * one object each: a freed medium object empties its run at once.
 */
#include "hz3_internal.h"

hz3_class_t _hz3_classes[HZ3_MAX_CLASSES];
hz3_free_check_t _hz3_free_check[HZ3_MAX_CLASSES];
uint8_t _hz3_class_of16[HZ3_SMALL_TAB_LEN];
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
        while (c->pages < 4 && c->pages * HZ3_PAGE_SIZE / size < HZ3_SMALL_MIN_CAPACITY) c->pages++;
    } else if (size <= HZ3_SUB4K_MAX) {
        c->tier = HZ3_TIER_SUB4K;
        c->pages = 1;
        for (uint16_t p = 1; p <= HZ3_SUB4K_MAX_PAGES; p++) {
            uint32_t bytes = p * HZ3_PAGE_SIZE, waste = bytes % size;
            if (waste * 8 <= bytes && bytes / size >= HZ3_SUB4K_MIN_CAPACITY) { c->pages = p; break; }
        }
    } else {
        c->tier = HZ3_TIER_MEDIUM;
        c->pages = (uint16_t)(size / HZ3_PAGE_SIZE);
    }
    c->capacity = (uint16_t)(c->pages * HZ3_PAGE_SIZE / size);
    c->blocks_end = c->capacity * size;
}

void _hz3_classes_init(void)
{
    _hz3_num_classes = 0;
    for (uint32_t s = 16; s <= 128; s += 16) add_class(s);
    for (uint32_t base = 128; base < 4096; base *= 2) {
        uint32_t step = base / HZ3_STEPS_PER_DOUBLING;
        for (uint32_t s = base + step; s <= 2 * base && s <= HZ3_SUB4K_MAX; s += step) add_class(s);
    }
    for (uint32_t s = 4096; s <= HZ3_MEDIUM_MAX; s += HZ3_PAGE_SIZE) add_class(s);

    /* Runs: one object at the span's start, so only offset 0 is a block. */
    hz3_class_t *run = &_hz3_classes[HZ3_CLASS_RUN];
    run->divisible = 1;
    run->blocks_end = 1;
    run->capacity = 1;
    run->tier = HZ3_TIER_LARGE;

    for (unsigned i = 0; i < HZ3_MAX_CLASSES; i++)
        _hz3_free_check[i] = (hz3_free_check_t){_hz3_classes[i].divisible, _hz3_classes[i].blocks_end,
                                                _hz3_classes[i].capacity, 0};

    unsigned c = 0;
    for (unsigned i = 0; i < HZ3_SMALL_TAB_LEN; i++) {
        while (_hz3_classes[c].size < i * 16) c++;
        _hz3_class_of16[i] = (uint8_t)c;
    }
}

int _hz3_class_aligned(size_t size, size_t align)
{
    if (size > HZ3_MEDIUM_MAX || align > HZ3_PAGE_SIZE) return -1;
    /* Spans start on a page, so a block is aligned when the class size is a
     * multiple of the alignment, or when the span holds a single block. */
    for (unsigned c = _hz3_class_of(size < align ? align : size); c < _hz3_num_classes; c++)
        if (_hz3_classes[c].size % align == 0 || _hz3_classes[c].capacity == 1) return (int)c;
    return -1;
}
