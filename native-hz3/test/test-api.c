/*
 * test-api.c: the malloc family as the C library documents it, with hz3
 * preloaded: alignment, usable size, realloc across every tier boundary,
 * calloc on recycled memory, errno cases and the glibc extras.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"

static void test_sizes(void)
{
    /* Every size up to 5000, then a sweep through medium and large. */
    for (size_t n = 0; n <= 70000; n += (n < 5000 ? 1 : 97)) {
        unsigned char *p = malloc(n);
        CHECK_MSG(p != NULL, "malloc(%zu)", n);
        if (!p) continue;
        CHECK_MSG(((uintptr_t)p & 15) == 0, "malloc(%zu) = %p not 16-aligned", n, (void *)p);
        size_t u = malloc_usable_size(p);
        CHECK_MSG(u >= n, "usable %zu < %zu", u, n);
        CHECK_MSG(t_hz3()->owns(p), "malloc(%zu) = %p outside hz3's mappings", n, (void *)p);
        memset(p, 0xa5, u);   /* the whole usable size is writable */
        free(p);
    }
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 31 + seed);
}

static bool same(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 31 + seed)) return false;
    return true;
}

static void test_realloc_tiers(void)
{
    /* Sizes on both sides of every tier boundary: small/sub4k, sub4k/medium,
     * medium/large, and well into large. */
    static const size_t sizes[] = { 1, 16, 17, 1024, 1025, 3584, 3585, 4096, 4097, 32768, 32769,
                                    100000, 1 << 20, 5 << 20, 32769, 32768, 4097, 3585, 1025, 100, 1 };
    unsigned char *p = malloc(sizes[0]);
    fill(p, sizes[0], 7);
    size_t have = sizes[0];
    for (size_t i = 1; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *q = realloc(p, n);
        CHECK_MSG(q != NULL, "realloc to %zu", n);
        size_t keep = have < n ? have : n;
        CHECK_MSG(same(q, keep, 7), "realloc %zu -> %zu lost contents", have, n);
        fill(q, n, 7);
        p = q;
        have = n;
    }
    free(p);
    /* realloc(NULL, n) is malloc; realloc(p, 0) frees and returns NULL as glibc does */
    p = realloc(NULL, 40);
    CHECK(p != NULL);
    CHECK(realloc(p, 0) == NULL);
}

static void test_calloc_recycled(void)
{
    static const size_t sizes[] = { 24, 200, 1000, 3000, 9000, 30000, 200000, 3 << 20 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        /* Dirty memory of this size, free it, and ask calloc for it again. */
        void *dirty[64];
        for (int i = 0; i < 64; i++) {
            dirty[i] = malloc(n);
            memset(dirty[i], 0xee, n);
        }
        for (int i = 0; i < 64; i++) free(dirty[i]);
        for (int i = 0; i < 64; i++) {
            unsigned char *p = calloc(1, n);
            bool zero = p != NULL;
            for (size_t j = 0; zero && j < n; j++) zero = p[j] == 0;
            CHECK_MSG(zero, "calloc(1, %zu) not zero", n);
            dirty[i] = p;
        }
        for (int i = 0; i < 64; i++) free(dirty[i]);
    }
}

static void test_errno(void)
{
    errno = 0;
    CHECK(calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc(SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc(SIZE_MAX - 4096) == NULL && errno == ENOMEM);
    void *p = malloc(10);
    errno = 0;
    CHECK(reallocarray(p, SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(realloc(p, SIZE_MAX) == NULL && errno == ENOMEM);   /* p still valid */
    free(p);
    void *out = (void *)1;
    CHECK(posix_memalign(&out, 3, 10) == EINVAL);
    CHECK(posix_memalign(&out, 0, 10) == EINVAL);
    CHECK(posix_memalign(&out, 4, 10) == EINVAL);   /* not a multiple of sizeof(void *) */
    CHECK(posix_memalign(&out, 24, 10) == EINVAL);
    CHECK(out == (void *)1);
    errno = 0;
    CHECK(aligned_alloc(48, 96) == NULL && errno == EINVAL);
    CHECK(posix_memalign(&out, 64, SIZE_MAX) == ENOMEM);
}

static void test_alignment(void)
{
    struct hz3_stats before = t_stats();
    /* Up to 4 KiB, small and medium requests come from segments, not from
     * large mappings. */
    for (size_t a = 8; a <= 4096; a *= 2) {
        for (size_t n = 1; n <= 32768; n = n * 3 + 1) {
            void *p = NULL;
            CHECK_MSG(posix_memalign(&p, a, n) == 0, "posix_memalign(%zu, %zu)", a, n);
            CHECK_MSG(((uintptr_t)p % a) == 0, "posix_memalign(%zu, %zu) = %p", a, n, p);
            CHECK(malloc_usable_size(p) >= n);
            void *q = aligned_alloc(a, n);
            CHECK_MSG(q && ((uintptr_t)q % a) == 0, "aligned_alloc(%zu, %zu) = %p", a, n, q);
            void *r = memalign(a, n);
            CHECK_MSG(r && ((uintptr_t)r % a) == 0, "memalign(%zu, %zu) = %p", a, n, r);
            free(p);
            free(q);
            free(r);
        }
    }
    struct hz3_stats after = t_stats();
    CHECK_MSG(after.large_count == before.large_count, "aligned small requests went large");

    /* Larger alignments, and large objects with alignment. */
    for (size_t a = 8192; a <= ((size_t)4 << 20); a *= 4) {
        for (size_t n = 100; n <= 300000; n *= 7) {
            void *p = NULL;
            CHECK(posix_memalign(&p, a, n) == 0 && ((uintptr_t)p % a) == 0);
            memset(p, 1, n);
            free(p);
        }
    }
    void *v = valloc(100);
    CHECK(v && ((uintptr_t)v & 4095) == 0);
    void *pv = pvalloc(5000);
    CHECK(pv && ((uintptr_t)pv & 4095) == 0 && malloc_usable_size(pv) >= 8192);
    void *m3 = memalign(24, 100);   /* rounded up to 32, as glibc does */
    CHECK(m3 && ((uintptr_t)m3 & 31) == 0);
    free(v);
    free(pv);
    free(m3);
}

static void test_glibc_extras(void)
{
    CHECK(mallopt(M_ARENA_MAX, 2) == 1);

    /* Large objects show in mallinfo2 as mmapped blocks. */
    struct mallinfo2 m0 = mallinfo2();
    void *big[3];
    for (int i = 0; i < 3; i++) big[i] = malloc(1 << 20);
    struct mallinfo2 m1 = mallinfo2();
    CHECK(m1.hblks == m0.hblks + 3);
    CHECK(m1.hblkhd >= m0.hblkhd + 3 * (1 << 20));
    CHECK(m1.arena > 0 && m1.uordblks > 0);
    struct mallinfo mi = mallinfo();
    CHECK((size_t)mi.hblks == m1.hblks);
    for (int i = 0; i < 3; i++) free(big[i]);

    /* malloc_trim gives free pages back: hz3's resident memory drops. */
    enum { N = 20000 };
    void **v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++) {
        v[i] = malloc(700);
        memset(v[i], 1, 700);
    }
    size_t rss_full = t_hz3_rss();
    for (int i = 0; i < N; i++) free(v[i]);
    free(v);
    CHECK(malloc_trim(0) == 1);
    size_t rss_trimmed = t_hz3_rss();
    CHECK_MSG(rss_trimmed + 10 * 1024 * 1024 < rss_full, "rss %zu -> %zu after malloc_trim", rss_full, rss_trimmed);
    struct hz3_stats st = t_stats();
    CHECK(st.large_cached == 0);

    /* malloc_info: XML, and EINVAL for options other than 0 */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(malloc_info(0, f) == 0);
    fclose(f);
    CHECK(buf && strstr(buf, "<malloc version=\"hz3-") && strstr(buf, "</malloc>"));
    free(buf);
    errno = 0;
    CHECK(malloc_info(1, stdout) == -1 && errno == EINVAL);
}

int main(void)
{
    CHECK(strcmp(t_hz3()->version(), HZ3_VERSION_STRING) == 0);
    test_sizes();
    test_realloc_tiers();
    test_calloc_recycled();
    test_errno();
    test_alignment();
    test_glibc_extras();
    return t_finish("test-api");
}
