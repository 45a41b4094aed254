package io.github.lbpdjl.peft;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A minimal safetensors reader and writer for float32 tensors: an 8-byte little-endian header
 * length, a JSON header {@code {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin,
 * end]}}} (plus an optional "__metadata__" object of strings), then the little-endian data.
 * Reading validates everything before allocating; writing is atomic (a temporary file in the same
 * folder, then an atomic move).
 */
public final class SafeTensors {

    private static final Set<String> KNOWN_DTYPES =
            Set.of("BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
                    "I32", "U32", "F32", "F64", "I64", "U64");
    private static final long MAX_HEADER = 100L << 20;

    private SafeTensors() {}

    /** One float32 tensor: its shape and row-major data. */
    public static final class Tensor {
        private final long[] shape;
        private final float[] data;

        /**
         * Creates a tensor.
         *
         * @param shape the shape
         * @param data row-major data, product(shape) values
         * @throws IllegalArgumentException if the sizes differ
         */
        public Tensor(long[] shape, float[] data) {
            long n = 1;
            for (long d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
                }
                n *= d;
            }
            if (n != data.length) {
                throw new IllegalArgumentException(
                        "shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
            }
            this.shape = shape.clone();
            this.data = data;
        }

        /** @return the shape (a copy) */
        public long[] getShape() {
            return shape.clone();
        }

        /** @return the data (not a copy) */
        public float[] getData() {
            return data;
        }
    }

    /**
     * Writes tensors atomically: a failed write leaves any existing file as it was.
     *
     * @param file the target file
     * @param tensors name to tensor, written in name order
     * @throws IOException if writing fails
     */
    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        Map<String, Tensor> sorted = new TreeMap<>(tensors);
        JsonObject header = new JsonObject();
        long offset = 0;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            JsonObject t = new JsonObject();
            t.addProperty("dtype", "F32");
            JsonArray shape = new JsonArray();
            for (long d : e.getValue().shape) {
                shape.add(d);
            }
            t.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offset += 4L * e.getValue().data.length;
            offsets.add(offset);
            t.add("data_offsets", offsets);
            header.add(e.getKey(), t);
        }
        StringBuilder json = new StringBuilder(header.toString());
        while (json.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) {
            json.append(' ');
        }
        byte[] h = json.toString().getBytes(StandardCharsets.UTF_8);
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            try (OutputStream os = Files.newOutputStream(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
                os.write(len.array());
                os.write(h);
                for (Tensor t : sorted.values()) {
                    ByteBuffer buf = ByteBuffer.allocate(4 * t.data.length).order(ByteOrder.LITTLE_ENDIAN);
                    buf.asFloatBuffer().put(t.data);
                    os.write(buf.array());
                }
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads and validates a safetensors file of float32 tensors.
     *
     * @param file the file
     * @return name to tensor, in the order of the header
     * @throws IOException naming the file (and the tensor) if it cannot be read or is malformed:
     *     header length beyond the file, offsets out of range or overlapping, unknown or
     *     unsupported dtype, data size not product(shape) * 4
     */
    public static Map<String, Tensor> read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new IOException(file + ": not a safetensors file: " + size + " bytes, less than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen < 2 || headerLen > size - 8 || headerLen > MAX_HEADER) {
                throw new IOException(file + ": header length " + headerLen + " does not fit a file of " + size
                        + " bytes (at most " + Math.min(size - 8, MAX_HEADER) + ")");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8, file);
            JsonObject header;
            try {
                JsonElement root = JsonParser.parseString(new String(hb.array(), StandardCharsets.UTF_8));
                if (!root.isJsonObject()) {
                    throw new IOException(file + ": header is not a JSON object");
                }
                header = root.getAsJsonObject();
            } catch (JsonParseException e) {
                throw new IOException(file + ": header is not valid JSON: " + e.getMessage(), e);
            }
            long dataStart = 8 + headerLen;
            long dataSize = size - dataStart;
            Map<String, long[]> ranges = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> e : header.entrySet()) {
                String key = e.getKey();
                if (key.equals("__metadata__")) {
                    continue;
                }
                try {
                    JsonObject t = e.getValue().getAsJsonObject();
                    String dtype = t.get("dtype").getAsString();
                    if (!KNOWN_DTYPES.contains(dtype)) {
                        throw new IOException(file + ": tensor '" + key + "' has unknown dtype " + dtype);
                    }
                    if (!dtype.equals("F32")) {
                        throw new IOException(file + ": tensor '" + key + "' has dtype " + dtype + "; only F32 is supported");
                    }
                    JsonArray s = t.getAsJsonArray("shape");
                    long[] shape = new long[s.size()];
                    long count = 1;
                    for (int i = 0; i < shape.length; i++) {
                        shape[i] = s.get(i).getAsLong();
                        if (shape[i] < 0) {
                            throw new IOException(file + ": tensor '" + key + "' has a negative dimension in " + s);
                        }
                        count = shape[i] == 0 ? 0 : (count > Long.MAX_VALUE / 8 / shape[i] ? -1 : count * shape[i]);
                        if (count < 0) {
                            throw new IOException(file + ": tensor '" + key + "' shape " + s + " is too large");
                        }
                    }
                    JsonArray o = t.getAsJsonArray("data_offsets");
                    if (o.size() != 2) {
                        throw new IOException(file + ": tensor '" + key + "' data_offsets must be [begin, end], got " + o);
                    }
                    long begin = o.get(0).getAsLong();
                    long end = o.get(1).getAsLong();
                    if (begin < 0 || end < begin || end > dataSize) {
                        throw new IOException(file + ": tensor '" + key + "' data_offsets " + o
                                + " out of range of the " + dataSize + " data bytes");
                    }
                    if (end - begin != count * 4) {
                        throw new IOException(file + ": tensor '" + key + "' has " + (end - begin)
                                + " data bytes; shape " + s + " of F32 needs " + count * 4);
                    }
                    if (count > Integer.MAX_VALUE - 8) {
                        throw new IOException(file + ": tensor '" + key + "' has " + count + " values, too many for one array");
                    }
                    ranges.put(key, new long[] {begin, end});
                    shapes.put(key, shape);
                } catch (IllegalStateException | NullPointerException | ClassCastException
                        | UnsupportedOperationException | NumberFormatException ex) {
                    throw new IOException(file + ": tensor '" + key + "' has a malformed header entry: " + e.getValue(), ex);
                }
            }
            checkOverlaps(file, ranges);
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> e : ranges.entrySet()) {
                long[] r = e.getValue();
                ByteBuffer buf = ByteBuffer.allocate((int) (r[1] - r[0])).order(ByteOrder.LITTLE_ENDIAN);
                readFully(ch, buf, dataStart + r[0], file);
                buf.flip();
                float[] data = new float[buf.remaining() / 4];
                buf.asFloatBuffer().get(data);
                out.put(e.getKey(), new Tensor(shapes.get(e.getKey()), data));
            }
            return out;
        }
    }

    private static void checkOverlaps(Path file, Map<String, long[]> ranges) throws IOException {
        List<Map.Entry<String, long[]>> list = new java.util.ArrayList<>(ranges.entrySet());
        list.sort((a, b) -> Long.compare(a.getValue()[0], b.getValue()[0]));
        for (int i = 1; i < list.size(); i++) {
            long[] prev = list.get(i - 1).getValue();
            long[] cur = list.get(i).getValue();
            if (cur[0] < prev[1] && cur[1] > cur[0] && prev[1] > prev[0]) {
                throw new IOException(file + ": tensors '" + list.get(i - 1).getKey() + "' and '"
                        + list.get(i).getKey() + "' overlap in the data section");
            }
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path file) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException(file + ": unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }
}
