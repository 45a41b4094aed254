package io.github.lbpdjl.zoo.safetensors;

import ai.djl.nn.Parameter;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes safetensors files atomically: the file is written to a temporary file in the same folder,
 * forced to disk, then moved over the target with {@code ATOMIC_MOVE}, so a failed save leaves the
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
        head.flip();

        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, abs.getFileName().toString(), ".tmp");
        boolean done = false;
        try {
            try (FileChannel ch =
                    FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeAll(ch, head);
                for (Tensor t : tensors.values()) {
                    writeAll(ch, ByteBuffer.wrap(t.getData()));
                }
                ch.force(true);
            }
            keepPermissions(tmp, abs);
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
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

    /** A temp file is created rw-------; give the result the target's or ordinary rw-r--r--. */
    private static void keepPermissions(Path tmp, Path target) {
        try {
            java.util.Set<java.nio.file.attribute.PosixFilePermission> perms =
                    Files.exists(target)
                            ? Files.getPosixFilePermissions(target)
                            : java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--");
            Files.setPosixFilePermissions(tmp, perms);
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: keep the defaults
        }
    }

    private static void writeAll(FileChannel ch, ByteBuffer bb) throws IOException {
        while (bb.hasRemaining()) {
            ch.write(bb);
        }
    }
}
