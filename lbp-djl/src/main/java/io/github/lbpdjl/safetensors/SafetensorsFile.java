package io.github.lbpdjl.safetensors;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A validated safetensors file, read lazily tensor by tensor.
 *
 * <p>Format: an 8-byte little-endian header length n, n bytes of UTF-8 JSON (an object mapping
 * tensor names to {@code {"dtype", "shape", "data_offsets": [begin, end]}} plus an optional {@code
 * "__metadata__"} string map), then the data; offsets are relative to the data. On open the header
 * length is checked against the file size (and a 100 MB cap), the JSON parsed, every entry's dtype,
 * shape and offsets validated ({@code end - begin == numel * dtype size}, within the data, no
 * overlaps, no holes); nothing is allocated from a size the file claims before it is checked
 * against the file's real size. Errors are {@link IOException}s naming the file and key.
 */
public final class SafetensorsFile implements Closeable {

    /** The largest header accepted, as in the reference implementation. */
    public static final long MAX_HEADER_BYTES = SafetensorsHeader.MAX_BYTES;

    private final String source;
    private final FileChannel channel;
    private final byte[] bytes;
    private final SafetensorsHeader header;

    private SafetensorsFile(
            String source, FileChannel channel, byte[] bytes, SafetensorsHeader header) {
        this.source = source;
        this.channel = channel;
        this.bytes = bytes;
        this.header = header;
    }

    /**
     * Opens and validates a file; close it when done.
     *
     * @param file the file
     * @return the open file
     * @throws IOException if it is missing, unreadable or malformed
     */
    public static SafetensorsFile open(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IOException(file + ": is a folder, not a safetensors file");
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new IOException("safetensors file not found: " + file, e);
        }
        try {
            long size = ch.size();
            String src = file.toString();
            byte[] lenBytes = readFully(ch, null, 0, 8, src, "header length", size);
            long n = ByteBuffer.wrap(lenBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
            SafetensorsHeader.checkLength(n, size, src);
            byte[] head = readFully(ch, null, 8, (int) n, src, "header", size);
            return new SafetensorsFile(src, ch, null, SafetensorsHeader.parse(src, head, size));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Reads and validates a safetensors image held in memory.
     *
     * @param data the whole file
     * @param sourceName a name for error messages
     * @return the file (closing it is a no-op)
     * @throws IOException if malformed
     */
    public static SafetensorsFile fromBytes(byte[] data, String sourceName) throws IOException {
        long size = data.length;
        if (size < 8) {
            throw new IOException(
                    sourceName + ": not a safetensors file: " + size + " bytes, need at least 8");
        }
        long n = ByteBuffer.wrap(data, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        SafetensorsHeader.checkLength(n, size, sourceName);
        byte[] head = Arrays.copyOfRange(data, 8, 8 + (int) n);
        return new SafetensorsFile(
                sourceName, null, data, SafetensorsHeader.parse(sourceName, head, size));
    }

    private static byte[] readFully(
            FileChannel ch, byte[] dst, long pos, int len, String src, String what, long size)
            throws IOException {
        if (pos + len > size) {
            throw new IOException(src + ": file truncated while reading " + what);
        }
        byte[] out = dst == null ? new byte[len] : dst;
        ByteBuffer bb = ByteBuffer.wrap(out, 0, len);
        long p = pos;
        while (bb.hasRemaining()) {
            int r = ch.read(bb, p);
            if (r < 0) {
                throw new EOFException(src + ": file truncated while reading " + what);
            }
            p += r;
        }
        return out;
    }

    /**
     * @return the file name or source used in messages
     */
    public String getSource() {
        return source;
    }

    /**
     * @return the tensor names, in header order
     */
    public Set<String> keys() {
        return header.entries.keySet();
    }

    /**
     * @param key a tensor name
     * @return whether the file has it
     */
    public boolean contains(String key) {
        return header.entries.containsKey(key);
    }

    /**
     * @return the {@code __metadata__} map (empty if none)
     */
    public Map<String, String> getMetadata() {
        return header.metadata;
    }

    /**
     * The element type of a tensor.
     *
     * @param key the tensor name
     * @return its type
     */
    public DType getDType(String key) {
        return entry(key).dtype;
    }

    /**
     * The shape of a tensor, without reading its data.
     *
     * @param key the tensor name
     * @return a copy of its shape
     */
    public long[] getShape(String key) {
        return entry(key).shape.clone();
    }

    /**
     * Reads one tensor.
     *
     * @param key the tensor name
     * @return the tensor
     * @throws IOException if reading fails
     * @throws IllegalArgumentException if there is no such tensor
     */
    public Tensor get(String key) throws IOException {
        SafetensorsHeader.Entry e = entry(key);
        long len = e.end - e.begin;
        if (len > Integer.MAX_VALUE - 8) {
            throw new IOException(source + ": tensor '" + key + "' is too large (" + len + " B)");
        }
        byte[] data;
        if (bytes != null) {
            int from = Math.toIntExact(header.dataStart + e.begin);
            data = Arrays.copyOfRange(bytes, from, from + (int) len);
        } else {
            data =
                    readFully(
                            channel,
                            null,
                            header.dataStart + e.begin,
                            (int) len,
                            source,
                            "tensor '" + key + "'",
                            channel.size());
        }
        return new Tensor(e.dtype, e.shape, data);
    }

    private SafetensorsHeader.Entry entry(String key) {
        SafetensorsHeader.Entry e = header.entries.get(key);
        if (e == null) {
            throw new IllegalArgumentException(source + ": no tensor named '" + key + "'");
        }
        return e;
    }

    /** {@inheritDoc} */
    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }

    /**
     * Reads a whole file into memory, validated.
     *
     * @param file the file
     * @return tensors by name, in header order
     * @throws IOException if the file is missing or malformed
     */
    public static Map<String, Tensor> readAll(Path file) throws IOException {
        try (SafetensorsFile f = open(file)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String k : f.keys()) {
                out.put(k, f.get(k));
            }
            return out;
        }
    }

    /**
     * Whether a path looks like a safetensors file by its name.
     *
     * @param file the path
     * @return true if it ends with ".safetensors"
     */
    public static boolean hasSafetensorsName(Path file) {
        Path name = file.getFileName();
        return name != null && name.toString().endsWith(".safetensors") && !Files.isDirectory(file);
    }
}
