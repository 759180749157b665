/*
 * run.c: objects too big for a size class but small enough for a segment
 * (32 KiB < size <= 1004 KiB): a span of exactly their page count, taken
 * from the page pool and given back to it on free, with no owner (any
 * thread's free gives it back: the generic free path finds capacity 1).
 * JVM direct buffers and zlib windows land here: no mmap, no munmap, and
 * the pages of a freed run are reused while resident and purged by epochs
 * once they stay free (the large-mapping path made every such object a
 * syscall pair and a fresh set of page faults).
 */
#include <errno.h>
#include <string.h>
#include "hz3_internal.h"

void *_hz3_run_alloc(size_t size, bool zero)
{
    _hz3_ensure_init();
    _hz3_epoch_tick();
    unsigned pages = (unsigned)((size + HZ3_PAGE_SIZE - 1) >> HZ3_PAGE_SHIFT);
    hz3_span_t *s = _hz3_pool_take_pages(HZ3_CLASS_RUN, pages, NULL);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    s->extended = 1;
    _hz3_used_set(s, 1);
    void *p = _hz3_span_start(s);
    if (zero) memset(p, 0, size);
    return p;
}
