package dev.hz3.agent.core.sites;

import java.util.ArrayList;
import java.util.List;

/**
 * The sampled blocks not freed yet: address to {@link Sample}. Every free through an advised
 * method looks its address up here, so a lookup neither allocates (no boxed keys) nor waits
 * long: the table is split into stripes by the address's hash, each an open-addressing table
 * (linear probing, backward-shift deletion) under its own lock. Only sampled blocks are put in,
 * so it holds about live bytes / sampleBytes entries.
 */
final class LiveSamples {

    private static final int STRIPES = 64;   // a power of two

    private static final class Stripe {
        long[] keys = new long[16];          // 0: empty (address 0 is never put)
        Sample[] values = new Sample[16];
        int size;
    }

    private final Stripe[] stripes = new Stripe[STRIPES];

    LiveSamples() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Stripe();
        }
    }

    private static long hash(long address) {
        long h = address * 0x9E3779B97F4A7C15L;
        return h ^ (h >>> 29);
    }

    private Stripe stripe(long h) {
        return stripes[(int) (h >>> 58) & (STRIPES - 1)];
    }

    void put(Sample s) {
        long h = hash(s.address);
        Stripe st = stripe(h);
        synchronized (st) {
            if ((st.size + 1) * 2 > st.keys.length) {
                grow(st);
            }
            insert(st, h, s);
        }
    }

    /** The sample of the block at address, removed; null when that block was not sampled. */
    Sample remove(long address) {
        long h = hash(address);
        Stripe st = stripe(h);
        synchronized (st) {
            long[] keys = st.keys;
            int mask = keys.length - 1;
            int i = (int) h & mask;
            while (keys[i] != 0) {
                if (keys[i] == address) {
                    Sample s = st.values[i];
                    delete(st, i);
                    return s;
                }
                i = (i + 1) & mask;
            }
            return null;
        }
    }

    /** Every live sample, a copy taken stripe by stripe. */
    List<Sample> all() {
        List<Sample> out = new ArrayList<>();
        for (Stripe st : stripes) {
            synchronized (st) {
                for (Sample s : st.values) {
                    if (s != null) {
                        out.add(s);
                    }
                }
            }
        }
        return out;
    }

    void clear() {
        for (Stripe st : stripes) {
            synchronized (st) {
                st.keys = new long[16];
                st.values = new Sample[16];
                st.size = 0;
            }
        }
    }

    private static void insert(Stripe st, long h, Sample s) {
        long[] keys = st.keys;
        int mask = keys.length - 1;
        int i = (int) h & mask;
        while (keys[i] != 0 && keys[i] != s.address) {
            i = (i + 1) & mask;
        }
        if (keys[i] == 0) {
            st.size++;
        }
        keys[i] = s.address;   // an address seen again replaces a sample whose free we missed
        st.values[i] = s;
    }

    private static void grow(Stripe st) {
        long[] oldKeys = st.keys;
        Sample[] oldValues = st.values;
        st.keys = new long[oldKeys.length * 2];
        st.values = new Sample[oldKeys.length * 2];
        st.size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != 0) {
                insert(st, hash(oldKeys[i]), oldValues[i]);
            }
        }
    }

    /** Empties slot i and shifts back the entries of its probe run that would be lost. */
    private static void delete(Stripe st, int i) {
        long[] keys = st.keys;
        Sample[] values = st.values;
        int mask = keys.length - 1;
        int hole = i;
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            if (keys[j] == 0) {
                break;
            }
            int home = (int) hash(keys[j]) & mask;
            // Move j into the hole unless its home lies cyclically in (hole, j].
            boolean stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays) {
                keys[hole] = keys[j];
                values[hole] = values[j];
                hole = j;
            }
        }
        keys[hole] = 0;
        values[hole] = null;
        st.size--;
    }
}
