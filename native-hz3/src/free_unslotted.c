/*
 * free_unslotted.c: free's fast path for a pointer that its segment slot
 * does not place (hz3_internal.h, "The segment slots"): one of a segment
 * that shares its slot with an earlier one, or of no segment (the generic
 * path takes it, as it does NULL and pointers into header pages).
 */
#include "hz3_hot.h"

void _hz3_free_unslotted(void *p, const void *caller)
{
    size_t in_seg = (uintptr_t)p & HZ3_SEG_MASK;
    if (!_hz3_is_segment((uintptr_t)p) || in_seg < ((size_t)HZ3_SEG_META_PAGES << HZ3_PAGE_SHIFT) ||
        !_hz3_free_in(p, (uintptr_t)p - in_seg + HZ3_SEG_SIZE, caller))
        _hz3_free_generic(p, caller, "free");
}
