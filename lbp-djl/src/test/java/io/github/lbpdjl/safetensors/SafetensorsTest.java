package io.github.lbpdjl.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

    @TempDir Path tmp;

    @Test
    void roundTripAllFloatTypes() throws IOException {
        float[] v = {0f, -0f, 1f, -2.5f, 3.14159f, 65504f, 1e-8f, -1e-3f, 1e30f};
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (DType d : new DType[] {DType.F32, DType.F16, DType.BF16, DType.F64}) {
            in.put("t_" + d, Tensor.fromFloats(v, new long[] {3, 3}, d));
        }
        in.put("scalar", Tensor.fromFloats(new float[] {7f}, new long[0], DType.F32));
        in.put("empty", Tensor.fromFloats(new float[0], new long[] {0, 4}, DType.F32));
        Path f = tmp.resolve("x.safetensors");
        SafetensorsWriter.write(f, in, Map.of("k", "v"));
        Map<String, Tensor> out = SafetensorsFile.readAll(f);
        assertEquals(in.keySet(), out.keySet());
        assertArrayEquals(v, out.get("t_F32").toFloatArray());
        assertArrayEquals(v, out.get("t_F64").toFloatArray());
        float[] half = out.get("t_F16").toFloatArray();
        assertEquals(3.140625f, half[4]);
        assertEquals(65504f, half[5]);
        assertEquals(Float.POSITIVE_INFINITY, half[8]);
        float[] bf = out.get("t_BF16").toFloatArray();
        assertEquals(3.140625f, bf[4]);
        assertEquals(1e30f, bf[8], 1e28f);
        assertArrayEquals(new long[] {3, 3}, out.get("t_BF16").getShape());
        assertEquals(7f, out.get("scalar").toFloatArray()[0]);
        assertEquals(0, out.get("empty").numel());
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals("v", sf.getMetadata().get("k"));
            assertEquals(DType.F16, sf.getDType("t_F16"));
        }
        // header length is a multiple of 8
        long n =
                ByteBuffer.wrap(Files.readAllBytes(f), 0, 8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .getLong();
        assertEquals(0, n % 8);
    }

    @Test
    void halfConversionsRoundToNearestEven() {
        assertEquals((short) 0x3c00, HalfFloats.floatToHalf(1f));
        assertEquals((short) 0xc000, HalfFloats.floatToHalf(-2f));
        assertEquals((short) 0x7bff, HalfFloats.floatToHalf(65504f));
        assertEquals((short) 0x7c00, HalfFloats.floatToHalf(65520f));
        assertEquals((short) 0x0001, HalfFloats.floatToHalf(0x1p-24f));
        assertEquals(0x1p-24f, HalfFloats.halfToFloat((short) 1));
        assertEquals((short) 0x3c00, HalfFloats.floatToHalf(1f + 0x1p-11f)); // tie -> even
        assertEquals((short) 0x3c02, HalfFloats.floatToHalf(1f + 3 * 0x1p-11f)); // tie -> even
        assertTrue(Float.isNaN(HalfFloats.halfToFloat(HalfFloats.floatToHalf(Float.NaN))));
        assertEquals((short) 0x3f80, HalfFloats.floatToBf16(1f));
        assertEquals(1f, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(1.001f)));
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN))));
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = HalfFloats.halfToFloat((short) bits);
            if (!Float.isNaN(f)) {
                assertEquals((short) bits, HalfFloats.floatToHalf(f), "half " + bits);
            }
        }
    }

    private Path raw(String name, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bb =
                ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(h.length).put(h).put(data);
        Path f = tmp.resolve(name);
        Files.write(f, bb.array());
        return f;
    }

    private void assertBad(Path f, String... fragments) {
        IOException e = assertThrows(IOException.class, () -> SafetensorsFile.open(f).close());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        for (String s : fragments) {
            assertTrue(e.getMessage().contains(s), "'" + s + "' not in: " + e.getMessage());
        }
    }

    @Test
    void malformedFilesAreRejectedWithTheFileAndKeyNamed() throws IOException {
        byte[] eight = new byte[8];
        assertBad(
                raw(
                        "dtype.st",
                        "{\"a\":{\"dtype\":\"F8\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                        eight),
                "'a'",
                "unknown dtype 'F8'");
        assertBad(
                raw(
                        "span.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                        eight),
                "'a'",
                "needs 12 bytes",
                "span 8");
        assertBad(
                raw(
                        "outside.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                        eight),
                "'a'",
                "outside");
        assertBad(
                raw(
                        "overlap.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        eight),
                "overlap");
        assertBad(
                raw(
                        "hole.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        eight),
                "hole");
        assertBad(
                raw(
                        "trailing.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                        eight),
                "trailing");
        assertBad(raw("json.st", "{\"a\":", eight), "not valid JSON");
        assertBad(raw("array.st", "[1,2]   ", eight), "not a JSON object");
        assertBad(
                raw(
                        "neg.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
                        eight),
                "'a'",
                "negative");
        assertBad(
                raw(
                        "overflow.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807, 4],"
                                + "\"data_offsets\":[0,8]}}",
                        eight),
                "'a'",
                "bad shape");
        assertBad(
                raw(
                        "frac.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}",
                        eight),
                "'a'",
                "non-integer");
        // header length larger than the file, or absurd
        Path f = tmp.resolve("len.st");
        ByteBuffer bb = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(Long.MAX_VALUE);
        Files.write(f, bb.array());
        assertBad(f, "header length");
        Path tiny = tmp.resolve("tiny.st");
        Files.write(tiny, new byte[3]);
        assertBad(tiny, "truncated");
        assertBad(tmp.resolve("absent.st"), "not found");
        assertBad(Files.createDirectory(tmp.resolve("folder.st")), "is a folder");
        IOException e =
                assertThrows(
                        IOException.class,
                        () -> SafetensorsFile.fromBytes(new byte[] {1, 2}, "mem"));
        assertTrue(e.getMessage().startsWith("mem"), e.getMessage());
    }

    @Test
    void unknownKeyIsNamed() throws IOException {
        Path f = tmp.resolve("k.safetensors");
        SafetensorsWriter.write(
                f,
                Map.of("a", Tensor.fromFloats(new float[] {1}, new long[] {1}, DType.F32)),
                null);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> sf.get("b"));
            assertTrue(
                    e.getMessage().contains("'b'") && e.getMessage().contains("k.safetensors"),
                    e.getMessage());
        }
    }

    @Test
    void failedWriteKeepsThePreviousFile() throws IOException {
        Path f = tmp.resolve("keep.safetensors");
        Tensor t = Tensor.fromFloats(new float[] {1, 2}, new long[] {2}, DType.F32);
        SafetensorsWriter.write(f, Map.of("a", t), null);
        byte[] before = Files.readAllBytes(f);
        assertThrows(
                IllegalArgumentException.class,
                () -> SafetensorsWriter.write(f, Map.of("__metadata__", t), null));
        assertArrayEquals(before, Files.readAllBytes(f));
        // the move fails: the target is a non-empty folder
        Path folder = tmp.resolve("folder.safetensors");
        Files.createDirectories(folder.resolve("inside"));
        assertThrows(
                IOException.class, () -> SafetensorsWriter.write(folder, Map.of("a", t), null));
        assertTrue(Files.isDirectory(folder.resolve("inside")));
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(
                    Set.of(f, folder),
                    files.collect(Collectors.toSet()),
                    "temporary file left behind");
        }
    }

    @Test
    void inMemoryAndFileReadsAgree() throws IOException {
        Path f = tmp.resolve("m.safetensors");
        SafetensorsWriter.write(
                f,
                Map.of(
                        "t",
                        Tensor.fromFloats(
                                new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, DType.F32)),
                null);
        try (SafetensorsFile a = SafetensorsFile.open(f);
                SafetensorsFile b = SafetensorsFile.fromBytes(Files.readAllBytes(f), "mem")) {
            assertArrayEquals(a.get("t").toFloatArray(), b.get("t").toFloatArray());
            assertEquals(6f, b.get("t").toFloatArray()[5]);
        }
    }

    @Test
    void sizesFromTheFileAreCheckedBeforeAllocating() throws IOException {
        byte[] eight = new byte[8];
        // numel * 4 overflows a long; a shape whose byte size passes as int but exceeds the data
        assertBad(
                raw(
                        "big.st",
                        "{\"t\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],"
                                + "\"data_offsets\":[0,8]}}",
                        eight),
                "'t'",
                "bad shape");
        assertBad(
                raw(
                        "huge.st",
                        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1000000000],"
                                + "\"data_offsets\":[0,4000000000]}}",
                        eight),
                "'t'",
                "outside");
        assertBad(
                raw(
                        "negoff.st",
                        "{\"t\":{\"dtype\":\"F32\",\"shape\":[2]," + "\"data_offsets\":[-8,0]}}",
                        eight),
                "'t'",
                "negative");
        // header length 1 TiB in a 16-byte file
        Path f = tmp.resolve("len2.st");
        ByteBuffer bb = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(1L << 40);
        Files.write(f, bb.array());
        assertBad(f, "header length 1099511627776", "16 bytes");
        // a negative header length (as a signed long) is reported unsigned
        bb.clear();
        bb.putLong(-1L);
        Files.write(f, bb.array());
        assertBad(f, "header length 18446744073709551615");
        // deep nesting in the header is an IOException, not a StackOverflowError
        String deep = "{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        assertBad(raw("deep.st", deep, new byte[0]), "not valid JSON");
    }
}
