package dev.hz3.samples.agent;

import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;

/**
 * Native allocations that only hz3 can attribute, for Hz3AttributionTest (run under hz3):
 * keepZ keeps KEEP_Z_COUNT Deflaters (zlib mallocs their state and buffers inside the
 * constructor, where Java sees none of it); fragU allocates FRAG_COUNT Unsafe blocks of
 * FRAG_BYTES and frees every other one, leaving its pages half used; freeAllU allocates as many
 * of FREE_ALL_BYTES and frees them all. Prints DONE and exits.
 */
public final class Hz3SitesApp {

    static final int KEEP_Z_COUNT = 400;
    static final int FRAG_BYTES = 1_000;
    static final int FRAG_COUNT = 40_000;
    static final int FREE_ALL_BYTES = 1_008;

    static final List<Deflater> KEPT = new ArrayList<>();
    static final List<Long> ADDRESSES = new ArrayList<>();

    private Hz3SitesApp() {
    }

    public static void main(String[] args) {
        keepZ();
        fragU();
        freeAllU();
        System.out.println("DONE hz3 sites " + KEPT.size() + " " + ADDRESSES.size());
    }

    static void keepZ() {
        for (int i = 0; i < KEEP_Z_COUNT; i++) {
            KEPT.add(new Deflater());
        }
    }

    static void fragU() {
        long[] a = new long[FRAG_COUNT];
        for (int i = 0; i < FRAG_COUNT; i++) {
            a[i] = NativeSitesApp.UNSAFE.allocateMemory(FRAG_BYTES);
        }
        for (int i = 0; i < FRAG_COUNT; i++) {
            if (i % 2 == 0) {
                NativeSitesApp.UNSAFE.freeMemory(a[i]);
            } else {
                ADDRESSES.add(a[i]);
            }
        }
    }

    static void freeAllU() {
        long[] a = new long[FRAG_COUNT];
        for (int i = 0; i < FRAG_COUNT; i++) {
            a[i] = NativeSitesApp.UNSAFE.allocateMemory(FREE_ALL_BYTES);
        }
        for (long p : a) {
            NativeSitesApp.UNSAFE.freeMemory(p);
        }
    }
}
