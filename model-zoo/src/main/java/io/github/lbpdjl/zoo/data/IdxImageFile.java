package io.github.lbpdjl.zoo.data;

import io.github.lbpdjl.io.AtomicFiles;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Random access to the images of an IDX image file, for data sets larger than memory: the header is
 * checked as {@link IdxReader} checks it, and each image is read from disk when it is asked for. A
 * gzipped file, which cannot be read at random, is unpacked once into a folder the caller gives,
 * under a name made from the file's path, size and modification time; the copy stops at the size
 * the header states, so a stream that holds less or more is refused, naming the file.
 */
public final class IdxImageFile {

    private static final int HEADER = 16;

    private final Path source;
    private final Path plain;
    private final int count;
    private final int rows;
    private final int cols;

    private IdxImageFile(Path source, Path plain, int[] shape) {
        this.source = source;
        this.plain = plain;
        this.count = shape[0];
        this.rows = shape[1];
        this.cols = shape[2];
    }

    /**
     * Opens an image file.
     *
     * @param file the IDX file, gzipped or not
     * @param unpackDir where a gzipped file is unpacked (created if needed; reused across runs)
     * @return the file, its header checked
     * @throws IOException naming the file if it is missing or malformed
     */
    public static IdxImageFile open(Path file, Path unpackDir) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("IDX file not found: " + file);
        }
        if (!IdxReader.isGzip(file)) {
            int[] shape;
            try (DataInputStream in = IdxReader.open(file)) {
                shape = IdxReader.readImageHeader(in, file);
            }
            IdxReader.checkFileSize(file, HEADER + (long) shape[0] * shape[1] * shape[2]);
            return new IdxImageFile(file, file, shape);
        }
        Path target = unpackDir.resolve(key(file) + "-" + file.getFileName() + ".unpacked");
        int[] shape;
        try (DataInputStream in = IdxReader.open(file)) {
            shape = IdxReader.readImageHeader(in, file);
            if (!Files.isRegularFile(target)) { // complete: files appear only by atomic rename
                long payload = (long) shape[0] * shape[1] * shape[2];
                AtomicFiles.write(target, out -> copy(in, out, shape, payload, file));
            }
        }
        return new IdxImageFile(file, target, shape);
    }

    private static void copy(
            DataInputStream in, OutputStream out, int[] shape, long payload, Path file)
            throws IOException {
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        header.putInt(IdxReader.IMAGES_MAGIC).putInt(shape[0]).putInt(shape[1]).putInt(shape[2]);
        out.write(header.array());
        byte[] buf = new byte[1 << 16];
        long left = payload;
        int next;
        try {
            while (left > 0) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (r < 0) {
                    break;
                }
                out.write(buf, 0, r);
                left -= r;
            }
            next = left > 0 ? -1 : in.read();
        } catch (EOFException e) {
            next = -1;
        } catch (IOException e) {
            throw new IOException(file + ": cannot read IDX payload: " + e.getMessage(), e);
        }
        if (left > 0) {
            throw new IOException(
                    file
                            + ": IDX payload truncated, expected "
                            + payload
                            + " bytes, got "
                            + (payload - left));
        }
        if (next != -1) {
            throw new IOException(file + ": IDX file has bytes after its payload");
        }
    }

    private static String key(Path file) throws IOException {
        String id =
                file.toAbsolutePath().normalize()
                        + "|"
                        + Files.size(file)
                        + "|"
                        + Files.getLastModifiedTime(file).toMillis();
        try {
            byte[] d =
                    MessageDigest.getInstance("SHA-256")
                            .digest(id.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads one image.
     *
     * @param index the image, 0 to count - 1
     * @param into rows * cols bytes, row-major; read them as {@code b & 0xff}
     * @throws IOException naming the file if it cannot be read (or has changed since it was opened)
     */
    public void read(int index, byte[] into) throws IOException {
        if (index < 0 || index >= count) {
            throw new IndexOutOfBoundsException(source + ": image " + index + " of " + count);
        }
        int per = rows * cols;
        if (into.length != per) {
            throw new IllegalArgumentException("need " + per + " bytes, got " + into.length);
        }
        ByteBuffer b = ByteBuffer.wrap(into);
        long position = HEADER + (long) index * per;
        try (FileChannel ch = FileChannel.open(plain, StandardOpenOption.READ)) {
            while (b.hasRemaining()) {
                if (ch.read(b, position + b.position()) < 0) {
                    throw new IOException(
                            source + ": IDX file ended inside image " + index + " (changed?)");
                }
            }
        }
    }

    /**
     * @return the number of images
     */
    public int getCount() {
        return count;
    }

    /**
     * @return the rows of each image
     */
    public int getRows() {
        return rows;
    }

    /**
     * @return the columns of each image
     */
    public int getCols() {
        return cols;
    }

    /**
     * @return the file as given (not its unpacked copy)
     */
    public Path getFile() {
        return source;
    }
}
