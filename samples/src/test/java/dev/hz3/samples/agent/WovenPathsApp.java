package dev.hz3.samples.agent;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import sun.misc.Unsafe;

/**
 * Every path through the woven JDK methods, for {@link AttributionWeavingTest}: Unsafe's
 * allocate, reallocate and free, one refused (a negative size throws through the mark's handler),
 * direct buffers, Deflater and Inflater made and ended, an inflate that produces output (the
 * window), one that throws DataFormatException. Keeps KEEP_COUNT blocks of KEEP_BYTES, and
 * prints a line per outcome, then DONE.
 */
public final class WovenPathsApp {

    static final int KEEP_BYTES = 98_767;
    static final int KEEP_COUNT = 400;

    private WovenPathsApp() {
    }

    public static void main(String[] args) throws Exception {
        Field f = Unsafe.class.getDeclaredField("theUnsafe");
        f.setAccessible(true);
        Unsafe u = (Unsafe) f.get(null);
        List<Object> kept = new ArrayList<>();
        for (int i = 0; i < KEEP_COUNT; i++) {
            kept.add(keep(u));
        }
        for (int i = 0; i < 200; i++) {
            long p = u.allocateMemory(1000 + i);
            p = u.reallocateMemory(p, 50_000 + i);
            u.freeMemory(p);
        }
        try {
            u.allocateMemory(-1);
            System.out.println("allocateMemory(-1) returned");
        } catch (IllegalArgumentException e) {
            System.out.println("allocateMemory(-1) threw " + e.getClass().getSimpleName());
        }
        for (int i = 0; i < 50; i++) {
            kept.add(ByteBuffer.allocateDirect(70_001));
        }
        byte[] data = new byte[100_000];
        byte[] packed = new byte[200_000];
        Deflater d = new Deflater();
        d.setInput(data);
        d.finish();
        int n = d.deflate(packed);
        d.end();
        Inflater ok = new Inflater();
        ok.setInput(packed, 0, n);
        int got = ok.inflate(new byte[data.length]);
        ok.end();
        System.out.println("inflated " + got);
        Inflater bad = new Inflater();
        bad.setInput(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        try {
            bad.inflate(new byte[100]);
            System.out.println("bad inflate returned");
        } catch (DataFormatException e) {
            System.out.println("bad inflate threw DataFormatException");
        }
        bad.end();
        System.out.println("DONE kept " + kept.size());
    }

    static Long keep(Unsafe u) {
        return u.allocateMemory(KEEP_BYTES);
    }
}
