package dev.hz3.samples.agent;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Native allocations whose hz3 samples Hz3SamplesTest reads (run under hz3): keepU keeps
 * KEEP_U_COUNT Unsafe blocks of KEEP_U_BYTES; keepZ keeps KEEP_Z_COUNT Deflaters (zlib mallocs
 * their state and four 64 KiB buffers inside the constructor); keepI keeps KEEP_I_COUNT
 * Inflaters that each inflated once (zlib mallocs the state in the constructor, the 32 KiB window
 * at the first inflate that produces output). With the argument "idle" it does none of them:
 * only the agent allocates. Prints DONE and exits.
 */
public final class Hz3SamplesApp {

    static final int KEEP_U_COUNT = 20_000;
    static final int KEEP_U_BYTES = 1_000;
    static final int KEEP_Z_COUNT = 100;
    static final int KEEP_I_COUNT = 1_000;

    static final List<Object> KEPT = new ArrayList<>();

    private Hz3SamplesApp() {
    }

    public static void main(String[] args) throws DataFormatException {
        if (args.length == 0 || !args[0].equals("idle")) {
            keepU();
            keepZ();
            keepI(compressed());
        }
        System.out.println("DONE hz3 samples " + KEPT.size());
    }

    static void keepU() {
        for (int i = 0; i < KEEP_U_COUNT; i++) {
            KEPT.add(NativeSitesApp.UNSAFE.allocateMemory(KEEP_U_BYTES));
        }
    }

    static void keepZ() {
        for (int i = 0; i < KEEP_Z_COUNT; i++) {
            KEPT.add(new Deflater());
        }
    }

    static void keepI(byte[] z) throws DataFormatException {
        byte[] out = new byte[4096];
        for (int i = 0; i < KEEP_I_COUNT; i++) {
            Inflater inf = new Inflater();
            inf.setInput(z);
            if (inf.inflate(out) == 0) {
                throw new IllegalStateException("nothing inflated");
            }
            KEPT.add(inf);
        }
    }

    private static byte[] compressed() {
        byte[] text = "hz3 keeps its samples until they are freed. ".repeat(100)
                .getBytes(StandardCharsets.US_ASCII);
        Deflater d = new Deflater();
        d.setInput(text);
        d.finish();
        byte[] buf = new byte[text.length];
        int n = d.deflate(buf);
        d.end();
        return java.util.Arrays.copyOf(buf, n);
    }
}
