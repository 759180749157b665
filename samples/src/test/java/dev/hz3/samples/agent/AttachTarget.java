package dev.hz3.samples.agent;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;

/**
 * A JVM to attach to: prints READY, then serves lines on stdin ("work": some malloc and free
 * through zlib, answered WORKED N) until stdin closes, then prints BYE and exits 0.
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
        while ((line = in.readLine()) != null) {
            if (line.equals("work")) {
                work(held);
                System.out.println("WORKED " + ++n);
            }
        }
        held.forEach(Deflater::end);
        System.out.println("BYE");
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
