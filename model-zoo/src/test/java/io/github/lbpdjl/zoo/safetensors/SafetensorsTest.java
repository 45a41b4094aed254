package io.github.lbpdjl.zoo.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

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
        long n = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
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
        ByteBuffer bb = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
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
        assertBad(raw("dtype.st", "{\"a\":{\"dtype\":\"F8\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                "'a'", "unknown dtype 'F8'");
        assertBad(raw("span.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", eight),
                "'a'", "needs 12 bytes", "span 8");
        assertBad(raw("outside.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", eight),
                "'a'", "outside");
        assertBad(raw("overlap.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", eight), "overlap");
        assertBad(raw("hole.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", eight), "hole");
        assertBad(raw("trailing.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", eight),
                "trailing");
        assertBad(raw("json.st", "{\"a\":", eight), "not valid JSON");
        assertBad(raw("array.st", "[1,2]   ", eight), "not a JSON object");
        assertBad(raw("neg.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", eight),
                "'a'", "negative");
        assertBad(raw("overflow.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807, 4],"
                + "\"data_offsets\":[0,8]}}", eight), "'a'", "bad shape");
        assertBad(raw("frac.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", eight),
                "'a'", "non-integer");
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
        IOException e = assertThrows(IOException.class,
                () -> SafetensorsFile.fromBytes(new byte[] {1, 2}, "mem"));
        assertTrue(e.getMessage().startsWith("mem"), e.getMessage());
    }

    @Test
    void unknownKeyIsNamed() throws IOException {
        Path f = tmp.resolve("k.safetensors");
        SafetensorsWriter.write(f, Map.of("a", Tensor.fromFloats(new float[] {1}, new long[] {1}, DType.F32)), null);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sf.get("b"));
            assertTrue(e.getMessage().contains("'b'") && e.getMessage().contains("k.safetensors"), e.getMessage());
        }
    }

    @Test
    void failedWriteKeepsThePreviousFile() throws IOException {
        Path f = tmp.resolve("keep.safetensors");
        Tensor t = Tensor.fromFloats(new float[] {1, 2}, new long[] {2}, DType.F32);
        SafetensorsWriter.write(f, Map.of("a", t), null);
        byte[] before = Files.readAllBytes(f);
        Map<String, Tensor> failing = new LinkedHashMap<>() {
            @Override
            public Collection<Tensor> values() {
                // the header is built, then writing the data fails
                return Stream.of(t, (Tensor) null).collect(Collectors.toList());
            }
        };
        failing.put("a", t);
        failing.put("b", t);
        assertThrows(NullPointerException.class, () -> SafetensorsWriter.write(f, failing, null));
        assertArrayEquals(before, Files.readAllBytes(f));
        try (Stream<Path> files = Files.list(tmp)) {
            List<Path> left = files.collect(Collectors.toList());
            assertEquals(List.of(f), left, "temporary file left behind");
        }
    }
}
