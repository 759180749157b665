package dev.hz3.jmc.report;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Locale;

/**
 * Checks a file's JFR chunk structure before JMC's parser reads it, so that sizes and offsets
 * from a damaged or hostile file never reach the parser's allocations and loops.
 *
 * <p>A JFR file is a sequence of chunks. Each chunk starts with a 68-byte header (big-endian):
 *
 * <pre>
 *  0  magic "FLR\0"          16  constant pool offset (i8)   32..63  start, duration, ticks
 *  4  major, minor (u2, u2)  24  metadata offset (i8)        56      ticks per second (i8)
 *  8  chunk size (i8)                                         64      features (u4; bit 0: compressed ints)
 * </pre>
 *
 * Its events follow the header and tile the chunk exactly: each begins with its size and its
 * type (0 metadata, 1 checkpoint, others events). The constant pool offset names the last
 * checkpoint, and each checkpoint names the one before it with a negative delta (0 ends).
 *
 * <p>Invariants checked, for every chunk: the header fits; magic; version 1.x or 2.x; chunk size at
 * least the header, at most 2 GiB and within the file; ticks per second positive; every event size
 * at least its own size and type fields and within the chunk, the sizes summing to the chunk size;
 * the metadata offset is an event start of type 0; the checkpoint chain goes strictly backwards
 * through events of type 1. JMC's parser (9.1.2) reads the events by their sizes to the end of the
 * chunk, and follows the checkpoint chain until a delta of 0: on a file that passes, both loops
 * end. Checking costs one sequential read of the file and no allocation that grows with it.
 *
 * <p><b>A last chunk that is cut off</b> is left out rather than refused, as JMC does: a file
 * copied while the JVM was writing it, or a recording taken mid-write, ends inside its last chunk.
 * The chunks before it are passed (they must be sound: damage there is refused as ever), the cut
 * one never reaches the parser. A chunk is cut off when the file ends inside its header (the bytes
 * there agree with a header as far as they go), when its header gives a size beyond the end of the
 * file (at most 2 GiB: a larger one is damage), when its size is 0, or when its header says it is
 * still being written and it is not sound, or is followed by bytes that are not a chunk.
 *
 * <p>What a chunk being written looks like (copies of the disk repository's current chunk of a
 * running JDK 17.0.15 and Temurin 25 JVM, {@code -XX:StartFlightRecording}; the
 * {@code filename=} file itself stays empty until the recording ends): byte 64 of the header,
 * which JDK 11 wrote as 0 (the top byte of the features), holds a generation that is 1 when the
 * chunk starts and grows by one at each flush (once a second); a finished chunk has 0 there and
 * bit 1 ("final chunk") set in byte 67, and JDK 14+ write 255 while they update the header. Before
 * the first flush the header says size 68, constant pool and metadata offsets 0, while the file
 * already holds the metadata event (8,092 bytes on 17); after a flush the size is the file's size
 * at that flush and the chunk is sound, and events written since follow it until the next flush.
 * A size of 0 was not seen; it is taken as cut off too, since only a header not yet written has it.
 */
final class ChunkCheck {

    static final int HEADER_SIZE = 68;
    private static final int MAGIC = 0x464c5200; // "FLR\0"
    private static final int COMPRESSED_INTS = 1;
    /** JMC's parser holds a chunk in one byte array. */
    private static final long MAX_CHUNK_SIZE = Integer.MAX_VALUE - 8;

    /** One line saying what is wrong with the file and where. */
    static final class BadChunkException extends IOException {
        private static final long serialVersionUID = 1L;

        BadChunkException(String message) {
            super(message);
        }
    }

    private final FileChannel channel;
    private final long fileSize;
    private final ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    /** File position of buf's first byte; buf holds [bufStart, bufStart + buf.limit()). */
    private long bufStart;
    private long pos;
    private boolean compressed;

    private ChunkCheck(FileChannel channel) throws IOException {
        this.channel = channel;
        this.fileSize = channel.size();
        buf.limit(0);
    }

    /**
     * What the parser may read: the file's first {@code readable} bytes, {@code complete} sound
     * chunks. When readable is less than the file's size, the last chunk, from byte readable to
     * the end of the file, is cut off and left out.
     */
    record Chunks(int complete, long readable, long fileSize) {

        boolean cutOff() {
            return readable < fileSize;
        }

        /** One line for stderr and the page, when the last chunk was left out. */
        String note() {
            return String.format(Locale.ROOT, "the last chunk, from byte %,d, is cut off at byte %,d"
                    + " (the end of the file) and was left out: the report is of the %d complete chunk%s before it", readable, fileSize,
                    complete, complete == 1 ? "" : "s");
        }
    }

    /** Checks every chunk of the file; the complete ones are what the parser may read. */
    static Chunks check(FileChannel channel) throws IOException {
        return new ChunkCheck(channel).checkAll();
    }

    /** checkChunk's answer for a chunk that is cut off by the end of the file. */
    private static final long CUT_OFF = -1;
    /** Why the chunk checkChunk last answered CUT_OFF for is cut off. */
    private String cutReason = "";
    /** The header of the chunk checkChunk last looked at says it is still being written. */
    private boolean inProgress;
    /** The size that header gives. */
    private long declaredSize;

    private Chunks checkAll() throws IOException {
        if (fileSize == 0) {
            throw new BadChunkException("the file is empty");
        }
        int n = 0;
        long start = 0;
        long previous = 0;
        boolean previousInProgress = false;
        while (start < fileSize) {
            long size;
            BadChunkException bad = null;
            try {
                size = checkChunk(n + 1, start);
            } catch (BadChunkException e) {
                size = CUT_OFF;
                bad = e;
            }
            if (size == CUT_OFF && previousInProgress) {
                // Events written since the last flush of a chunk being written, after the size its
                // header gave at that flush: that chunk is the one cut off.
                return cutOff(n - 1, previous, String.format(Locale.ROOT, "its header says it is still being "
                        + "written, and what follows it at byte %,d is not a chunk", start));
            } else if (bad != null && inProgress && (declaredSize == HEADER_SIZE || declaredSize >= fileSize - start)) {
                // Being written and reaching the end of the file, or nothing flushed yet (size 68).
                // Damage inside a chunk that ends before the file does is refused, whatever byte 64.
                return cutOff(n, start, "its header says it is still being written, and " + bad.getMessage());
            } else if (bad != null) {
                throw bad;
            } else if (size == CUT_OFF) {
                return cutOff(n, start, cutReason);
            }
            previous = start;
            previousInProgress = inProgress;
            start += size;
            n++;
        }
        // A chunk being written that ends where the file does was copied at a flush: it is sound
        // and is read, as JMC reads it.
        return new Chunks(n, fileSize, fileSize);
    }

    /** The chunk at start is cut off: the chunks before it, or a refusal when there are none. */
    private Chunks cutOff(int complete, long start, String reason) throws BadChunkException {
        if (complete == 0) {
            throw new BadChunkException(String.format(Locale.ROOT,
                    "its only chunk is cut off at byte %,d, the end of the file: %s", fileSize, reason));
        }
        return new Chunks(complete, start, fileSize);
    }

    /** Checks the chunk at start; returns its size, or CUT_OFF when the end of the file cuts it off. */
    private long checkChunk(int n, long start) throws IOException {
        String where = n == 1 && start == 0 ? "" : String.format(Locale.ROOT, "chunk %d at byte %,d: ", n, start);
        inProgress = false;
        if (fileSize - start < HEADER_SIZE) {
            if (headerSoFar(start)) {
                cutReason = String.format(Locale.ROOT, "the file ends %,d bytes into its %d-byte header",
                        fileSize - start, HEADER_SIZE);
                return CUT_OFF;
            }
            throw new BadChunkException(where + String.format(Locale.ROOT,
                    "%,d bytes, too short for a JFR chunk header (%d bytes)", fileSize - start, HEADER_SIZE));
        }
        pos = start;
        int magic = u4();
        if (magic != MAGIC) {
            throw new BadChunkException(where + "no JFR chunk header (the magic is " + shown(magic) + ", not FLR\\0)");
        }
        int major = u2();
        int minor = u2();
        if (major != 1 && major != 2) {
            throw new BadChunkException(where + "JFR format version " + major + "." + minor
                    + " (hz3-report reads versions 1 and 2)");
        }
        long size = u8();
        long cpOffset = u8();
        long metaOffset = u8();
        pos = start + 56;
        long ticksPerSecond = u8();
        int features = u4();
        compressed = (features & COMPRESSED_INTS) != 0;
        inProgress = (features >>> 24) != 0;
        declaredSize = size;
        if (size == 0 || (size > fileSize - start && size >= HEADER_SIZE && size <= MAX_CHUNK_SIZE)) {
            cutReason = size == 0 ? "its header gives no size yet"
                    : String.format(Locale.ROOT, "its header says it ends at byte %,d", start + size);
            return CUT_OFF;
        }
        if (size > MAX_CHUNK_SIZE && size <= fileSize - start) {
            throw new BadChunkException(where + String.format(Locale.ROOT,
                    "the chunk size %,d is more than JMC's parser reads (2 GiB)", size));
        }
        if (size < HEADER_SIZE || size > fileSize - start) {
            throw new BadChunkException(where + String.format(Locale.ROOT,
                    "the chunk size is %,d, but %,d bytes are left from the chunk's start to the end of the file%s",
                    size, fileSize - start, size > fileSize - start ? " (truncated, or a damaged header)" : ""));
        }
        checkOffset(where, "constant pool", cpOffset, size);
        checkOffset(where, "metadata", metaOffset, size);
        if (ticksPerSecond <= 0) {
            throw new BadChunkException(where + "ticks per second is " + ticksPerSecond);
        }
        checkEvents(where, start, size, metaOffset);
        checkCheckpoints(where, start, size, cpOffset);
        return size;
    }

    /** The fewer than 68 bytes from start to the end of the file begin a chunk header: magic, version. */
    private boolean headerSoFar(long start) throws IOException {
        pos = start;
        for (int i = 0; i < 4 && pos < fileSize; i++) {
            if (u1() != (MAGIC >>> (24 - 8 * i) & 0xff)) {
                return false;
            }
        }
        if (fileSize - pos < 2) {
            return true;
        }
        int major = u2();
        return major == 1 || major == 2;
    }

    private static void checkOffset(String where, String what, long offset, long size) throws BadChunkException {
        if (offset < HEADER_SIZE || offset >= size) {
            throw new BadChunkException(where + String.format(Locale.ROOT,
                    "the %s offset %,d lies outside the chunk's events (bytes %d to %,d)", what, offset,
                    HEADER_SIZE, size));
        }
    }

    /** Walks the events by their sizes: they must tile the chunk, one of them at the metadata offset. */
    private void checkEvents(String where, long start, long size, long metaOffset) throws IOException {
        boolean metadataSeen = false;
        long at = HEADER_SIZE;
        while (at < size) {
            pos = start + at;
            long eventSize = readSize(start + size);
            long type = readLong(start + size);
            if (eventSize < pos - (start + at) || eventSize > size - at) {
                throw new BadChunkException(where + String.format(Locale.ROOT,
                        "the event at byte %,d of the chunk has size %,d, outside the chunk", at, eventSize));
            }
            if (at == metaOffset) {
                if (type != 0) {
                    throw new BadChunkException(where + String.format(Locale.ROOT,
                            "the metadata offset %,d names an event of type %d, not metadata", metaOffset, type));
                }
                metadataSeen = true;
            }
            at += eventSize;
        }
        if (!metadataSeen) {
            throw new BadChunkException(where + String.format(Locale.ROOT,
                    "the metadata offset %,d is not the start of an event", metaOffset));
        }
    }

    /** Follows the checkpoint chain from the constant pool offset: strictly backwards, type 1 each. */
    private void checkCheckpoints(String where, long start, long size, long cpOffset) throws IOException {
        long at = cpOffset;
        while (true) {
            pos = start + at;
            long eventSize = readSize(start + size);
            long type = readLong(start + size);
            if (type != 1 || eventSize < pos - (start + at) || eventSize > size - at) {
                throw new BadChunkException(where + String.format(Locale.ROOT,
                        "the checkpoint chain reaches byte %,d, where there is no checkpoint", at));
            }
            readLong(start + at + eventSize); // start time
            readLong(start + at + eventSize); // duration
            long delta = readLong(start + at + eventSize);
            if (delta == 0) {
                return;
            }
            if (delta > 0 || at + delta < HEADER_SIZE) {
                throw new BadChunkException(where + String.format(Locale.ROOT,
                        "the checkpoint at byte %,d points to byte %,d, not to an earlier one", at, at + delta));
            }
            at += delta;
        }
    }

    /**
     * An event size at pos. JMC's parser reads it as a long and keeps the low 32 bits (an event
     * whose size reads as -1 sends it back one byte, and round again: issue 9's runaway); the
     * checks that follow accept only sizes within a chunk of at most 2 GiB, where both readings
     * agree. JDK 17 pads some sizes to 8 bytes: b4 81 80 80 80 80 80 00 is 180.
     */
    private long readSize(long end) throws IOException {
        return compressed ? readLong(end) : readInt(end);
    }

    private long readInt(long end) throws IOException {
        if (end - pos < 4) {
            throw past(end);
        }
        return u4();
    }

    /** A JFR long at pos: LEB128 (the 9th byte whole) when compressed, else 8 bytes; not past end. */
    private long readLong(long end) throws IOException {
        if (!compressed) {
            if (end - pos < 8) {
                throw past(end);
            }
            return u8();
        }
        long v = 0;
        for (int i = 0; i < 9; i++) {
            if (pos >= end) {
                throw past(end);
            }
            int b = u1();
            if (i == 8) {
                return v | ((long) b << 56);
            }
            v |= (long) (b & 0x7f) << (7 * i);
            if (b < 0x80) {
                return v;
            }
        }
        return v;
    }

    private BadChunkException past(long end) {
        return new BadChunkException(String.format(Locale.ROOT, "an event runs past byte %,d", end));
    }

    private int u1() throws IOException {
        if (pos < bufStart || pos >= bufStart + buf.limit()) {
            fill();
        }
        return buf.get((int) (pos++ - bufStart)) & 0xff;
    }

    private int u2() throws IOException {
        return u1() << 8 | u1();
    }

    private int u4() throws IOException {
        return u2() << 16 | u2();
    }

    private long u8() throws IOException {
        return (long) u4() << 32 | (u4() & 0xffffffffL);
    }

    private void fill() throws IOException {
        if (pos >= fileSize) {
            throw new BadChunkException(String.format(Locale.ROOT, "the file ends at byte %,d", fileSize));
        }
        buf.clear();
        bufStart = pos;
        while (buf.hasRemaining() && bufStart + buf.position() < fileSize) {
            if (channel.read(buf, bufStart + buf.position()) < 0) {
                break;
            }
        }
        buf.flip();
        if (buf.limit() == 0) {
            throw new BadChunkException(String.format(Locale.ROOT, "the file ends at byte %,d", pos));
        }
    }

    /** Four bytes as printable ASCII where they are, else hex. */
    private static String shown(int magic) {
        StringBuilder b = new StringBuilder();
        for (int shift = 24; shift >= 0; shift -= 8) {
            int c = (magic >>> shift) & 0xff;
            b.append(c >= 0x21 && c < 0x7f ? String.valueOf((char) c) : String.format(Locale.ROOT, "\\x%02x", c));
        }
        return b.toString();
    }
}
