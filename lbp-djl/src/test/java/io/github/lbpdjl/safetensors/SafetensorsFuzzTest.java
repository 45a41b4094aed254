package io.github.lbpdjl.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the safetensors reader (docs/RELIABILITY.md): every input is either read, its tensors
 * decoding to the sizes the header states, or rejected with an IOException naming the source;
 * nothing else may be thrown. Reading from memory and from a file must agree. Seeds and regression
 * inputs: src/test/resources/io/github/lbpdjl/safetensors/SafetensorsFuzzTestInputs/.
 */
class SafetensorsFuzzTest {

    private static Path file;

    @BeforeAll
    static void createFile() throws IOException {
        file = Files.createTempFile("fuzz", ".safetensors");
    }

    @AfterAll
    static void deleteFile() throws IOException {
        Files.deleteIfExists(file);
    }

    /** Whole files as the fuzzer makes them: length prefix, header and data. */
    @FuzzTest(maxDuration = "60s")
    @DictionaryEntries({
        "\"dtype\"",
        "\"shape\"",
        "\"data_offsets\"",
        "\"F32\"",
        "\"BF16\"",
        "\"__metadata__\""
    })
    void rawFile(byte[] data) throws IOException {
        Files.write(file, data);
        String fromMemory = read(data, () -> SafetensorsFile.fromBytes(data, file.toString()));
        String fromFile = read(data, () -> SafetensorsFile.open(file));
        assertEquals(fromMemory, fromFile, "memory and file reads differ");
    }

    /**
     * A header with a correct length prefix: the input up to its first zero byte is the JSON
     * header, the rest is the data (the fuzzer spends its time on the JSON, not on the prefix).
     */
    @FuzzTest(maxDuration = "60s")
    @DictionaryEntries({
        "\"dtype\"",
        "\"shape\"",
        "\"data_offsets\"",
        "\"F32\"",
        "\"F16\"",
        "\"BF16\"",
        "\"I64\"",
        "\"U8\"",
        "\"BOOL\"",
        "\"__metadata__\"",
        "[0,",
        "]}"
    })
    void header(byte[] input) throws IOException {
        int zero = 0;
        while (zero < input.length && input[zero] != 0) {
            zero++;
        }
        int dataFrom = Math.min(zero + 1, input.length);
        ByteBuffer bb =
                ByteBuffer.allocate(8 + input.length - dataFrom + zero)
                        .order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(zero).put(input, 0, zero).put(input, dataFrom, input.length - dataFrom);
        byte[] data = bb.array();
        read(data, () -> SafetensorsFile.fromBytes(data, "fuzz"));
    }

    private interface Opener {
        SafetensorsFile open() throws IOException;
    }

    /**
     * Reads everything; returns a summary of the tensors, or "error" for an IOException. What is
     * allocated is bounded by the file's real size, whatever sizes its header claims (measured on a
     * second read, so that loading and instrumenting classes on the first does not count).
     */
    private static String read(byte[] data, Opener opener) {
        readAll(data, opener);
        long before = allocated();
        try {
            return readAll(data, opener);
        } finally {
            long used = allocated() - before;
            assertTrue(
                    used < (32 << 20) + 16L * data.length,
                    used + " bytes allocated for " + data.length);
        }
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getCurrentThreadAllocatedBytes();
    }

    private static String readAll(byte[] data, Opener opener) {
        try (SafetensorsFile f = opener.open()) {
            long total = 0;
            Map<String, String> summary = new LinkedHashMap<>();
            for (String k : f.keys()) {
                Tensor t = f.get(k);
                assertArrayEquals(f.getShape(k), t.getShape());
                assertEquals(f.getDType(k), t.getDType());
                assertEquals(t.numel() * t.getDType().getByteSize(), t.getData().length);
                float[] values = t.toFloatArray();
                assertEquals(t.numel(), values.length);
                total += t.getData().length;
                summary.put(k, t + "#" + Arrays.hashCode(t.getData()));
            }
            assertTrue(total <= data.length, "tensors larger than the file");
            return summary + " " + f.getMetadata();
        } catch (IOException e) {
            assertTrue(
                    e.getMessage() != null
                            && (e.getMessage().startsWith("fuzz")
                                    || e.getMessage().contains(file.toString())),
                    "message names the source: " + e.getMessage());
            return "error";
        }
    }
}
