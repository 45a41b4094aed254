package io.github.lbpdjl.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.modality.cv.Image;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link Resampling} against Pillow: {@code preprocessing/resize.json}, written by {@code
 * src/test/python/make_resize_fixtures.py} with Pillow's own {@code Image.resize}.
 */
class ResamplingTest {

    @Test
    void equalsPillowByteForByte() throws IOException {
        JsonObject doc = fixture();
        Map<String, JsonObject> sources = new HashMap<>();
        for (JsonElement e : doc.getAsJsonArray("sources")) {
            sources.put(e.getAsJsonObject().get("name").getAsString(), e.getAsJsonObject());
        }
        int cases = 0;
        for (JsonElement e : doc.getAsJsonArray("cases")) {
            JsonObject c = e.getAsJsonObject();
            JsonObject src = sources.get(c.get("source").getAsString());
            Image.Interpolation interpolation =
                    Image.Interpolation.valueOf(
                            c.get("interpolation").getAsString().toUpperCase(Locale.ROOT));
            int w = c.get("width").getAsInt();
            int h = c.get("height").getAsInt();
            byte[] got =
                    Resampling.resize(
                            bytes(src),
                            src.get("width").getAsInt(),
                            src.get("height").getAsInt(),
                            src.get("channels").getAsInt(),
                            w,
                            h,
                            interpolation);
            String what = c.get("source").getAsString() + " " + interpolation + " " + w + "x" + h;
            assertArrayEquals(bytes(c), got, what);
            cases++;
        }
        assertEquals(42, cases);
    }

    @Test
    void constantStaysConstant() {
        byte[] grey = new byte[300 * 200];
        Arrays.fill(grey, (byte) 201);
        for (Image.Interpolation i :
                new Image.Interpolation[] {
                    Image.Interpolation.NEAREST,
                    Image.Interpolation.BILINEAR,
                    Image.Interpolation.BICUBIC
                }) {
            byte[] down = Resampling.resize(grey, 300, 200, 1, 42, 28, i);
            byte[] up = Resampling.resize(grey, 300, 200, 1, 372, 248, i);
            for (byte b : down) {
                assertEquals(201, b & 0xff, i.toString());
            }
            for (byte b : up) {
                assertEquals(201, b & 0xff, i.toString());
            }
        }
    }

    @Test
    void sameSizeIsACopyAndAreaIsRefused() {
        byte[] src = {1, 2, 3, 4};
        byte[] same = Resampling.resize(src, 2, 2, 1, 2, 2, Image.Interpolation.BICUBIC);
        assertArrayEquals(src, same);
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Resampling.resize(src, 2, 2, 1, 1, 1, Image.Interpolation.AREA));
        assertTrue(e.getMessage().contains("AREA"), e.getMessage());
    }

    private static byte[] bytes(JsonObject o) {
        return Base64.getDecoder().decode(o.get("pixels").getAsString());
    }

    private static JsonObject fixture() throws IOException {
        String name = "preprocessing/resize.json";
        try (InputStream is = ResamplingTest.class.getResourceAsStream(name)) {
            if (is == null) {
                throw new IOException("missing test resource " + name);
            }
            return JsonParser.parseString(new String(is.readAllBytes(), StandardCharsets.UTF_8))
                    .getAsJsonObject();
        }
    }
}
