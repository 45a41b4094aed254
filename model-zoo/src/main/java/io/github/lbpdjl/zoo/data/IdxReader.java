package io.github.lbpdjl.zoo.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * Reads MNIST-style IDX files of unsigned bytes, gzipped or not (detected from the gzip magic).
 *
 * <p>Images: big-endian magic {@code 0x00000803}, count, rows, cols, then count*rows*cols bytes.
 * Labels: magic {@code 0x00000801}, count, then count bytes. The header, the sizes and the exact
 * length of the payload are validated; errors are {@link IOException}s naming the file.
 */
public final class IdxReader {

    /** Magic of a 3-D unsigned byte IDX file (images). */
    public static final int IMAGES_MAGIC = 0x00000803;

    /** Magic of a 1-D unsigned byte IDX file (labels). */
    public static final int LABELS_MAGIC = 0x00000801;

    private static final long MAX_BYTES = Integer.MAX_VALUE - 16L;
    private static final int FIRST_CHUNK = 1 << 20;

    private IdxReader() {}

    /**
     * Reads an image file.
     *
     * @param file the IDX file (optionally .gz)
     * @return the images
     * @throws IOException if the file is missing, unreadable or malformed
     */
    public static IdxImages readImages(Path file) throws IOException {
        try (DataInputStream in = open(file)) {
            int[] shape = readImageHeader(in, file);
            int count = shape[0];
            int rows = shape[1];
            int cols = shape[2];
            long size = (long) count * rows * cols;
            if (size > MAX_BYTES) {
                throw new IOException(
                        file + ": IDX image payload of " + size + " bytes is too large");
            }
            checkFileSize(file, 16 + size);
            byte[] pixels = readPayload(in, file, (int) size);
            return new IdxImages(count, rows, cols, pixels);
        }
    }

    /**
     * Reads and checks the 16-byte header of an image file: the magic, then count, rows and cols.
     *
     * @return {count, rows, cols}
     */
    static int[] readImageHeader(DataInputStream in, Path file) throws IOException {
        int magic = readHeaderInt(in, file, "magic");
        if (magic != IMAGES_MAGIC) {
            throw new IOException(
                    String.format(
                            "%s: not an IDX image file: magic 0x%08x, expected 0x%08x",
                            file, magic, IMAGES_MAGIC));
        }
        int count = readHeaderInt(in, file, "count");
        int rows = readHeaderInt(in, file, "rows");
        int cols = readHeaderInt(in, file, "cols");
        if (count < 0 || rows < 1 || cols < 1) {
            throw new IOException(
                    file
                            + ": bad IDX image header: count="
                            + count
                            + ", rows="
                            + rows
                            + ", cols="
                            + cols);
        }
        if ((long) rows * cols > MAX_BYTES) {
            throw new IOException(file + ": IDX images of " + rows + "x" + cols + " are too large");
        }
        return new int[] {count, rows, cols};
    }

    /**
     * Reads a label file.
     *
     * @param file the IDX file (optionally .gz)
     * @return the labels, 0..255 each
     * @throws IOException if the file is missing, unreadable or malformed
     */
    public static int[] readLabels(Path file) throws IOException {
        try (DataInputStream in = open(file)) {
            int magic = readHeaderInt(in, file, "magic");
            if (magic != LABELS_MAGIC) {
                throw new IOException(
                        String.format(
                                "%s: not an IDX label file: magic 0x%08x, expected 0x%08x",
                                file, magic, LABELS_MAGIC));
            }
            int count = readHeaderInt(in, file, "count");
            if (count < 0 || count > MAX_BYTES) {
                throw new IOException(file + ": bad IDX label count " + count);
            }
            checkFileSize(file, 8L + count);
            byte[] raw = readPayload(in, file, count);
            int[] labels = new int[count];
            for (int i = 0; i < count; i++) {
                labels[i] = raw[i] & 0xff;
            }
            return labels;
        }
    }

    static DataInputStream open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("IDX file not found: " + file);
        }
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        try {
            raw.mark(2);
            int b0 = raw.read();
            int b1 = raw.read();
            raw.reset();
            InputStream in = raw;
            if (b0 == 0x1f && b1 == 0x8b) {
                in = new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16);
            }
            return new DataInputStream(in);
        } catch (IOException e) {
            raw.close();
            throw new IOException(file + ": cannot open IDX file: " + e.getMessage(), e);
        }
    }

    static boolean isGzip(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.read() == 0x1f && in.read() == 0x8b;
        }
    }

    static void checkFileSize(Path file, long expected) throws IOException {
        if (isGzip(file)) {
            return; // checked while reading the payload
        }
        long actual = Files.size(file);
        if (actual != expected) {
            throw new IOException(
                    file + ": IDX file has " + actual + " bytes, its header implies " + expected);
        }
    }

    private static int readHeaderInt(DataInputStream in, Path file, String field)
            throws IOException {
        try {
            return in.readInt();
        } catch (EOFException e) {
            throw new IOException(file + ": IDX header truncated while reading " + field, e);
        } catch (IOException e) {
            throw new IOException(file + ": cannot read IDX header: " + e.getMessage(), e);
        }
    }

    /**
     * Reads exactly {@code size} bytes and checks that nothing follows. The buffer grows as bytes
     * arrive, so a size claimed by the header of a gzip stream (whose real length is unknown until
     * it ends) costs memory only for the bytes that are really there.
     */
    private static byte[] readPayload(DataInputStream in, Path file, int size) throws IOException {
        byte[] data = new byte[Math.min(size, FIRST_CHUNK)];
        int n = 0;
        int next;
        try {
            while (n < size) {
                if (n == data.length) {
                    data = Arrays.copyOf(data, (int) Math.min(size, 2L * data.length));
                }
                int r = in.read(data, n, data.length - n);
                if (r < 0) {
                    break;
                }
                n += r;
            }
            next = n < size ? -1 : in.read();
        } catch (EOFException e) {
            next = -1; // a gzip stream that ends early (or right after the payload)
        } catch (IOException e) {
            throw new IOException(file + ": cannot read IDX payload: " + e.getMessage(), e);
        }
        if (n < size) {
            throw new IOException(
                    file + ": IDX payload truncated, expected " + size + " bytes, got " + n);
        }
        if (next != -1) {
            throw new IOException(file + ": IDX file has bytes after its payload");
        }
        return data;
    }
}
