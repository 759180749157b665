package dev.hz3.agent.core.jfr;

import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Finds the Java thread behind an OS thread that ran an hz3 epoch. There is no public map from
 * Linux thread ids to Java threads; what the JVM does give is the OS thread name: HotSpot names
 * each Java thread after its Java name, cut to 15 bytes. So a Java thread whose cut name is the
 * epoch's thread name, and is the only one with that name, is taken; otherwise none (0). The
 * listener's own thread is known exactly. Answers are kept per OS thread id while the name
 * still matches and, once that Java thread has ended, only until a live thread of the same name
 * shows up: Linux reuses thread ids, and the id's next thread may well carry the same name.
 * (An ended thread's answer is kept because hz3 runs an epoch as a thread exits, and its event
 * reaches us after the Java thread is gone.)
 */
public final class EpochThreads {

    private record Known(long javaId, String javaName, String osName, WeakReference<Thread> thread) {
        boolean ended() {
            Thread t = thread == null ? null : thread.get();
            return thread != null && (t == null || !t.isAlive());
        }
    }

    private final Map<Integer, Known> cache = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, Known> e) {
            return size() > 256;
        }
    };

    /** [javaThreadId, javaThreadName] for the OS thread, or [0, ""]. */
    public synchronized Object[] lookup(int osTid, String osName, int currentTid) {
        if (osTid == currentTid) {
            Thread t = Thread.currentThread();
            return new Object[] {t.getId(), t.getName()};
        }
        Known k = cache.get(osTid);
        if (k == null || !k.osName.equals(osName)) {
            k = find(osName);
            cache.put(osTid, k);
        } else if (k.javaId == 0 || k.ended()) {   // none known, or it ended: a live one now?
            Known live = find(osName);
            if (live.javaId != 0) {
                k = live;
                cache.put(osTid, k);
            }
        }
        return new Object[] {k.javaId, k.javaName};
    }

    private static Known find(String osName) {
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        Thread[] all = new Thread[root.activeCount() + 16];
        int n = root.enumerate(all, true);
        Thread match = null;
        for (int i = 0; i < n; i++) {
            if (osNameOf(all[i].getName()).equals(osName)) {
                if (match != null) {
                    return new Known(0, "", osName, null);   // two candidates: cannot tell
                }
                match = all[i];
            }
        }
        return match == null ? new Known(0, "", osName, null)
                : new Known(match.getId(), match.getName(), osName, new WeakReference<>(match));
    }

    /** The name Linux keeps for a thread named javaName: at most 15 bytes of UTF-8. */
    static String osNameOf(String javaName) {
        byte[] b = javaName.getBytes(StandardCharsets.UTF_8);
        if (b.length <= 15) {
            return javaName;
        }
        int len = 15;
        while (len > 0 && (b[len] & 0xC0) == 0x80) {
            len--;   // do not cut a character in half
        }
        return new String(b, 0, len, StandardCharsets.UTF_8);
    }
}
