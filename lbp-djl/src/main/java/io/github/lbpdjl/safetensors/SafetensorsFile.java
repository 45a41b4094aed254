package io.github.lbpdjl.safetensors;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import io.github.lbpdjl.internal.JsonInput;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
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
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private final String source;
    private final FileChannel channel;
    private final byte[] bytes;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(
            String source,
            FileChannel channel,
            byte[] bytes,
            long dataStart,
            Map<String, Entry> entries,
            Map<String, String> metadata) {
        this.source = source;
        this.channel = channel;
        this.bytes = bytes;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
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
            checkHeaderLength(n, size, src);
            byte[] header = readFully(ch, null, 8, (int) n, src, "header", size);
            return parse(src, ch, null, header, size, file);
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
        checkHeaderLength(n, size, sourceName);
        byte[] header = Arrays.copyOfRange(data, 8, 8 + (int) n);
        return parse(sourceName, null, data, header, size, null);
    }

    private static void checkHeaderLength(long n, long size, String src) throws IOException {
        if (n < 2 || n > size - 8 || n > MAX_HEADER_BYTES) {
            throw new IOException(
                    src
                            + ": not a valid safetensors file: header length "
                            + Long.toUnsignedString(n)
                            + " but the file has "
                            + size
                            + " bytes (max header "
                            + MAX_HEADER_BYTES
                            + ")");
        }
    }

    private static SafetensorsFile parse(
            String src, FileChannel ch, byte[] all, byte[] header, long size, Path file)
            throws IOException {
        String json;
        try {
            json =
                    StandardCharsets.UTF_8
                            .newDecoder()
                            .onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT)
                            .decode(ByteBuffer.wrap(header))
                            .toString();
        } catch (CharacterCodingException e) {
            throw new IOException(src + ": safetensors header is not valid UTF-8", e);
        }
        JsonObject root;
        try {
            JsonElement el = JsonInput.parse(json);
            if (!el.isJsonObject()) {
                throw new IOException(src + ": safetensors header is not a JSON object");
            }
            root = el.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IOException(
                    src + ": safetensors header is not valid JSON: " + e.getMessage(), e);
        }
        long dataStart = 8 + header.length;
        long dataLen = size - dataStart;
        Map<String, String> meta = new LinkedHashMap<>();
        List<Entry> list = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : root.entrySet()) {
            String key = e.getKey();
            if ("__metadata__".equals(key)) {
                if (!e.getValue().isJsonObject()) {
                    throw new IOException(src + ": __metadata__ is not an object");
                }
                for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
                    if (!m.getValue().isJsonPrimitive()
                            || !m.getValue().getAsJsonPrimitive().isString()) {
                        throw new IOException(
                                src
                                        + ": __metadata__ value of '"
                                        + m.getKey()
                                        + "' is not a string");
                    }
                    meta.put(m.getKey(), m.getValue().getAsString());
                }
                continue;
            }
            list.add(parseEntry(src, key, e.getValue(), dataLen));
        }
        List<Entry> sorted = new ArrayList<>(list);
        sorted.sort(Comparator.comparingLong((Entry x) -> x.begin).thenComparingLong(x -> x.end));
        long pos = 0;
        for (Entry en : sorted) {
            if (en.begin != pos) {
                throw new IOException(
                        src
                                + ": tensor '"
                                + en.name
                                + "' starts at data offset "
                                + en.begin
                                + " but the previous tensor ends at "
                                + pos
                                + (en.begin < pos ? " (overlap)" : " (hole)"));
            }
            pos = en.end;
        }
        if (pos != dataLen) {
            throw new IOException(
                    src
                            + ": tensors cover "
                            + pos
                            + " data bytes but the file has "
                            + dataLen
                            + " (truncated or trailing data)");
        }
        Map<String, Entry> map = new LinkedHashMap<>();
        for (Entry en : list) {
            map.put(en.name, en);
        }
        return new SafetensorsFile(
                src,
                ch,
                all,
                dataStart,
                Collections.unmodifiableMap(map),
                Collections.unmodifiableMap(meta));
    }

    private static Entry parseEntry(String src, String key, JsonElement value, long dataLen)
            throws IOException {
        String where = src + ": tensor '" + key + "'";
        if (!value.isJsonObject()) {
            throw new IOException(where + ": header entry is not an object");
        }
        JsonObject o = value.getAsJsonObject();
        JsonElement dt = o.get("dtype");
        if (dt == null || !dt.isJsonPrimitive() || !dt.getAsJsonPrimitive().isString()) {
            throw new IOException(where + ": missing or non-string dtype");
        }
        DType dtype = DType.fromName(dt.getAsString());
        if (dtype == null) {
            throw new IOException(
                    where
                            + ": unknown dtype '"
                            + dt.getAsString()
                            + "', known: "
                            + Arrays.toString(DType.values()));
        }
        long[] shape = longArray(o.get("shape"), where, "shape", -1);
        long[] offsets = longArray(o.get("data_offsets"), where, "data_offsets", 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end || end > dataLen) {
            throw new IOException(
                    where
                            + ": data_offsets ["
                            + begin
                            + ", "
                            + end
                            + "] outside the "
                            + dataLen
                            + " data bytes (file truncated?)");
        }
        long need;
        try {
            need = Tensor.byteSize(dtype, shape);
        } catch (ArithmeticException | IllegalArgumentException e) {
            throw new IOException(where + ": bad shape " + Arrays.toString(shape), e);
        }
        if (need != end - begin) {
            throw new IOException(
                    where
                            + ": "
                            + dtype
                            + Arrays.toString(shape)
                            + " needs "
                            + need
                            + " bytes but data_offsets span "
                            + (end - begin));
        }
        return new Entry(key, dtype, shape, begin, end);
    }

    private static long[] longArray(JsonElement el, String where, String field, int length)
            throws IOException {
        if (el == null || !el.isJsonArray()) {
            throw new IOException(where + ": missing or non-array " + field);
        }
        JsonArray a = el.getAsJsonArray();
        if (length >= 0 && a.size() != length) {
            throw new IOException(where + ": " + field + " must have " + length + " entries");
        }
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            JsonElement x = a.get(i);
            try {
                if (!x.isJsonPrimitive() || !x.getAsJsonPrimitive().isNumber()) {
                    throw new NumberFormatException();
                }
                out[i] = new BigDecimal(x.getAsString()).longValueExact();
            } catch (NumberFormatException | ArithmeticException e) {
                throw new IOException(
                        where + ": " + field + " has a non-integer entry " + JsonInput.describe(x),
                        e);
            }
            if (out[i] < 0) {
                throw new IOException(where + ": " + field + " has a negative entry " + out[i]);
            }
        }
        return out;
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
        return entries.keySet();
    }

    /**
     * @param key a tensor name
     * @return whether the file has it
     */
    public boolean contains(String key) {
        return entries.containsKey(key);
    }

    /**
     * @return the {@code __metadata__} map (empty if none)
     */
    public Map<String, String> getMetadata() {
        return metadata;
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
        Entry e = entry(key);
        long len = e.end - e.begin;
        if (len > Integer.MAX_VALUE - 8) {
            throw new IOException(source + ": tensor '" + key + "' is too large (" + len + " B)");
        }
        byte[] data;
        if (bytes != null) {
            int from = Math.toIntExact(dataStart + e.begin);
            data = Arrays.copyOfRange(bytes, from, from + (int) len);
        } else {
            data =
                    readFully(
                            channel,
                            null,
                            dataStart + e.begin,
                            (int) len,
                            source,
                            "tensor '" + key + "'",
                            channel.size());
        }
        return new Tensor(e.dtype, e.shape, data);
    }

    private Entry entry(String key) {
        Entry e = entries.get(key);
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

    private static final class Entry {
        final String name;
        final DType dtype;
        final long[] shape;
        final long begin;
        final long end;

        Entry(String name, DType dtype, long[] shape, long begin, long end) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape;
            this.begin = begin;
            this.end = end;
        }
    }
}
