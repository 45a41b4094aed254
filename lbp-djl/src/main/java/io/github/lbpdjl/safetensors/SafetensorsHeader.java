package io.github.lbpdjl.safetensors;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import io.github.lbpdjl.internal.JsonInput;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The validated header of a safetensors file: its tensor entries (dtype, shape, data offsets) and
 * its {@code __metadata__} map.
 *
 * <p>{@link #checkLength} checks the header length a file claims against its real size before
 * anything is allocated from it; {@link #parse} decodes the UTF-8 JSON and validates every entry
 * (known dtype, non-negative integer shape and offsets, {@code end - begin == numel * dtype size},
 * within the data) and that the entries tile the data exactly, without overlaps or holes. Errors
 * are {@link IOException}s naming the source and key.
 */
final class SafetensorsHeader {

    /** The largest header accepted, as in the reference implementation. */
    static final long MAX_BYTES = 100L * 1024 * 1024;

    /** Where the data starts in the file: after the 8-byte length and the header. */
    final long dataStart;

    /** The tensors by name, in header order (unmodifiable). */
    final Map<String, Entry> entries;

    /** The {@code __metadata__} map, empty if none (unmodifiable). */
    final Map<String, String> metadata;

    private SafetensorsHeader(
            long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Checks a header length read from a file.
     *
     * @param n the length the file claims (unsigned)
     * @param size the file's size
     * @param src the source name for messages
     * @throws IOException if the length does not fit in the file or is over {@link #MAX_BYTES}
     */
    static void checkLength(long n, long size, String src) throws IOException {
        if (n < 2 || n > size - 8 || n > MAX_BYTES) {
            throw new IOException(
                    src
                            + ": not a valid safetensors file: header length "
                            + Long.toUnsignedString(n)
                            + " but the file has "
                            + size
                            + " bytes (max header "
                            + MAX_BYTES
                            + ")");
        }
    }

    /**
     * Parses and validates a header.
     *
     * @param src the source name for messages
     * @param header the header bytes (after the 8-byte length)
     * @param size the whole file's size
     * @return the header
     * @throws IOException if it is malformed or does not match the data
     */
    static SafetensorsHeader parse(String src, byte[] header, long size) throws IOException {
        JsonObject root = json(src, header);
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
        checkTiling(src, list, dataLen);
        Map<String, Entry> map = new LinkedHashMap<>();
        for (Entry en : list) {
            map.put(en.name, en);
        }
        return new SafetensorsHeader(
                dataStart, Collections.unmodifiableMap(map), Collections.unmodifiableMap(meta));
    }

    /** Decodes the header as strict UTF-8 and parses it as a JSON object. */
    private static JsonObject json(String src, byte[] header) throws IOException {
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
        try {
            JsonElement el = JsonInput.parse(json);
            if (!el.isJsonObject()) {
                throw new IOException(src + ": safetensors header is not a JSON object");
            }
            return el.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IOException(
                    src + ": safetensors header is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** Checks that the entries cover the data exactly: no overlaps, no holes, nothing after. */
    private static void checkTiling(String src, List<Entry> list, long dataLen) throws IOException {
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

    /** One tensor's header entry, validated; offsets are relative to the data. */
    static final class Entry {
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
