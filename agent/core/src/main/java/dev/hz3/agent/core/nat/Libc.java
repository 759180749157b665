package dev.hz3.agent.core.nat;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;

/**
 * The C library functions the agent needs, looked up in the process's global scope (so they are
 * whatever the process really uses: glibc's, or the preloaded allocator's for the malloc
 * family). Optional ones return null when absent.
 */
public final class Libc {

    /** Dl_info of dladdr(3). */
    @Structure.FieldOrder({"dli_fname", "dli_fbase", "dli_sname", "dli_saddr"})
    public static class DlInfo extends Structure {
        public String dli_fname;
        public Pointer dli_fbase;
        public String dli_sname;
        public Pointer dli_saddr;
    }

    /** struct mallinfo2 (glibc 2.33+): every field a size_t. */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
        "fsmblks", "uordblks", "fordblks", "keepcost"})
    public static class Mallinfo2 extends Structure implements Structure.ByValue {
        public long arena;
        public long ordblks;
        public long smblks;
        public long hblks;
        public long hblkhd;
        public long usmblks;
        public long fsmblks;
        public long uordblks;
        public long fordblks;
        public long keepcost;
    }

    /** struct mallinfo (older glibc): every field an int. */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
        "fsmblks", "uordblks", "fordblks", "keepcost"})
    public static class Mallinfo extends Structure implements Structure.ByValue {
        public int arena;
        public int ordblks;
        public int smblks;
        public int hblks;
        public int hblkhd;
        public int usmblks;
        public int fsmblks;
        public int uordblks;
        public int fordblks;
        public int keepcost;
    }

    private Libc() {
    }

    /** The process's symbol, or null. */
    public static Function symbol(String name) {
        try {
            return NativeLibrary.getProcess().getFunction(name);
        } catch (UnsatisfiedLinkError absent) {
            return null;
        }
    }

    /** dladdr(address): the file that defines it, or null. */
    public static DlInfo dladdr(Pointer address) {
        Function f = symbol("dladdr");
        if (f == null || address == null) {
            return null;
        }
        DlInfo info = new DlInfo();
        int ok = f.invokeInt(new Object[] {address, info});
        info.read();
        return ok != 0 ? info : null;
    }

    public static String glibcVersion() {
        Function f = symbol("gnu_get_libc_version");
        return f == null ? null : f.invokeString(new Object[0], false);
    }

    /** The calling thread's Linux thread id. */
    public static int gettid() {
        Function f = symbol("gettid");
        if (f != null) {
            return f.invokeInt(new Object[0]);
        }
        return symbol("syscall").invokeInt(new Object[] {new NativeLong(186)});   // SYS_gettid
    }

    /**
     * Resident pages in [start, end) by mincore(2); the range must be mapped. -1 when the kernel
     * refuses (part of it unmapped meanwhile).
     */
    public static long residentPages(long start, long end, long pageSize) {
        Function f = symbol("mincore");
        long pages = (end - start) / pageSize;
        long resident = 0;
        final long chunk = 1 << 16;   // pages per call: a 64 KiB vector
        byte[] vec = new byte[(int) Math.min(pages, chunk)];
        for (long done = 0; done < pages; done += chunk) {
            long n = Math.min(chunk, pages - done);
            int rc = f.invokeInt(new Object[] {new Pointer(start + done * pageSize),
                new NativeLong(n * pageSize), vec});
            if (rc != 0) {
                return -1;
            }
            for (int i = 0; i < n; i++) {
                resident += vec[i] & 1;
            }
        }
        return resident;
    }

    /** glibc's mallinfo2 (or mallinfo), widened; null when neither exists. */
    public static long[] mallinfo() {
        Function f2 = symbol("mallinfo2");
        if (f2 != null) {
            Mallinfo2 m = (Mallinfo2) f2.invoke(Mallinfo2.class, new Object[0]);
            return new long[] {m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd, m.usmblks,
                m.fsmblks, m.uordblks, m.fordblks, m.keepcost};
        }
        Function f = symbol("mallinfo");
        if (f == null) {
            return null;
        }
        Mallinfo m = (Mallinfo) f.invoke(Mallinfo.class, new Object[0]);
        return new long[] {u(m.arena), u(m.ordblks), u(m.smblks), u(m.hblks), u(m.hblkhd),
            u(m.usmblks), u(m.fsmblks), u(m.uordblks), u(m.fordblks), u(m.keepcost)};
    }

    private static long u(int v) {
        return Integer.toUnsignedLong(v);
    }

    /** malloc_info(0, f) written to memory (open_memstream); null if unavailable. */
    public static String mallocInfoXml() {
        Function open = symbol("open_memstream");
        Function info = symbol("malloc_info");
        Function close = symbol("fclose");
        Function free = symbol("free");
        if (open == null || info == null || close == null || free == null) {
            return null;
        }
        PointerByReference buf = new PointerByReference();
        LongByReference size = new LongByReference();
        Pointer fp = (Pointer) open.invoke(Pointer.class, new Object[] {buf, size});
        if (fp == null) {
            return null;
        }
        int rc = info.invokeInt(new Object[] {0, fp});
        close.invokeInt(new Object[] {fp});
        Pointer text = buf.getValue();
        if (text == null) {
            return null;
        }
        try {
            return rc == 0 ? new String(text.getByteArray(0, (int) size.getValue()),
                    StandardCharsets.UTF_8) : null;
        } finally {
            free.invokeVoid(new Object[] {text});
        }
    }

    /** malloc_trim(0): 1 if memory was given back. */
    public static int mallocTrim() {
        Function f = symbol("malloc_trim");
        return f == null ? -1 : f.invokeInt(new Object[] {new NativeLong(0)});
    }

    /** mimalloc's mi_version() as "M.m.p", or null. */
    public static String mimallocVersion() {
        Function f = symbol("mi_version");
        if (f == null) {
            return null;
        }
        int v = f.invokeInt(new Object[0]);
        return (v / 100) + "." + (v / 10 % 10) + "." + (v % 10);
    }

    /** Reads a C string at p. */
    public static String string(Pointer p) {
        return p == null ? null : p.getString(0, StandardCharsets.UTF_8.name());
    }
}
