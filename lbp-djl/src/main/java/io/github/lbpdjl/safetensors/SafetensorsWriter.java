package io.github.lbpdjl.safetensors;

import ai.djl.nn.Parameter;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.github.lbpdjl.io.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files atomically ({@link AtomicFiles}): a failed or killed save leaves the
 * previous file untouched. Tensors are stored in the given order; the header is padded with spaces
 * to a multiple of 8 bytes.
 */
public final class SafetensorsWriter {

    private SafetensorsWriter() {}

    /**
     * Writes tensors.
     *
     * @param file the target
     * @param tensors tensors by name, stored in iteration order
     * @param metadata the {@code __metadata__} string map, or null
     * @throws IOException if writing fails (the target is then unchanged)
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        JsonObject header = new JsonObject();
        if (metadata != null && !metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            metadata.forEach(meta::addProperty);
            header.add("__metadata__", meta);
        }
        long offset = 0;
        List<byte[]> data = new ArrayList<>(tensors.size());
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if ("__metadata__".equals(e.getKey())) {
                throw new IllegalArgumentException("'__metadata__' cannot be a tensor name");
            }
            Tensor t = e.getValue();
            JsonObject o = new JsonObject();
            o.addProperty("dtype", t.getDType().name());
            JsonArray shape = new JsonArray();
            for (long d : t.getShape()) {
                shape.add(d);
            }
            o.add("shape", shape);
            JsonArray offs = new JsonArray();
            offs.add(offset);
            data.add(t.getData());
            offset += t.getData().length;
            offs.add(offset);
            o.add("data_offsets", offs);
            header.add(e.getKey(), o);
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded);
        head.put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        AtomicFiles.write(
                file,
                out -> {
                    out.write(head.array());
                    for (byte[] d : data) {
                        out.write(d);
                    }
                });
    }

    /**
     * Writes DJL parameters (e.g. {@code VisionTransformer.timmParameters()}), converted to a
     * floating type.
     *
     * @param file the target
     * @param parameters parameters by name; each must be initialised
     * @param dtype F32, F16, BF16 or F64
     * @param metadata the {@code __metadata__} map, or null
     * @throws IOException if writing fails
     */
    public static void writeParameters(
            Path file, Map<String, Parameter> parameters, DType dtype, Map<String, String> metadata)
            throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            tensors.put(e.getKey(), Tensor.fromNDArray(e.getValue().getArray(), dtype));
        }
        write(file, tensors, metadata);
    }
}
