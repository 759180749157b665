package dev.hz3.samples.agent;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;

/**
 * A JVM to attach to: prints READY, then serves lines on stdin until stdin closes, then prints
 * BYE and exits 0: "work" (some malloc and free through zlib, answered WORKED N), "mark" (a line
 * MARK N of its own on stderr: what the application writes there), "burst" ({@value #BURST_EVENTS}
 * events of {@value #FILLER_CHARS} characters into the running recordings, answered BURST N).
 */
public final class AttachTarget {

    private AttachTarget() {
    }

    public static void main(String[] args) throws Exception {
        List<Deflater> held = new ArrayList<>();
        work(held);
        System.out.println("READY pid=" + ProcessHandle.current().pid());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        int n = 0;
        int marks = 0;
        int bursts = 0;
        while ((line = in.readLine()) != null) {
            if (line.equals("work")) {
                work(held);
                System.out.println("WORKED " + ++n);
            } else if (line.equals("mark")) {
                System.err.println("MARK " + ++marks);
            } else if (line.equals("burst")) {
                burst();
                System.out.println("BURST " + ++bursts);
            }
        }
        held.forEach(Deflater::end);
        System.out.println("BYE");
    }

    static final int BURST_EVENTS = 256;
    static final int FILLER_CHARS = 1000;

    /** Bytes a recording's chunk grows by: a known amount, for tests of its size bounds. */
    @jdk.jfr.Name("hz3test.Filler")
    static final class Filler extends jdk.jfr.Event {
        String text;
    }

    private static void burst() {
        String text = "x".repeat(FILLER_CHARS - 4) + "%04d";
        for (int i = 0; i < BURST_EVENTS; i++) {
            Filler f = new Filler();
            f.text = String.format(text, i);
            f.commit();
        }
    }

    /** 2000 zlib streams (a few hundred KiB of malloc each), every other one ended. */
    private static void work(List<Deflater> held) {
        for (int i = 0; i < 2000; i++) {
            Deflater d = new Deflater();
            d.setInput(new byte[64]);
            d.finish();
            d.deflate(new byte[128]);
            if (i % 2 == 0) {
                held.add(d);
            } else {
                d.end();
            }
        }
    }
}
