package io.github.lbpdjl.zoo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {

    @TempDir Path tmp;

    private static byte[] images(int magic, int n, int rows, int cols, int payload) {
        ByteBuffer bb = ByteBuffer.allocate(16 + payload);
        bb.putInt(magic).putInt(n).putInt(rows).putInt(cols);
        for (int i = 0; i < payload; i++) {
            bb.put((byte) (i * 7));
        }
        return bb.array();
    }

    private static byte[] labels(int n, int payload) {
        ByteBuffer bb = ByteBuffer.allocate(8 + payload);
        bb.putInt(IdxReader.LABELS_MAGIC).putInt(n);
        for (int i = 0; i < payload; i++) {
            bb.put((byte) (i % 10));
        }
        return bb.array();
    }

    private Path write(String name, byte[] data, boolean gzip) throws IOException {
        Path f = tmp.resolve(name);
        if (gzip) {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            try (OutputStream os = new GZIPOutputStream(bos)) {
                os.write(data);
            }
            data = bos.toByteArray();
        }
        Files.write(f, data);
        return f;
    }

    @Test
    void readsPlainAndGzip() throws IOException {
        for (boolean gz : new boolean[] {false, true}) {
            Path f = write("img" + gz, images(IdxReader.IMAGES_MAGIC, 3, 2, 4, 24), gz);
            IdxImages im = IdxReader.readImages(f);
            assertEquals(3, im.getCount());
            assertEquals(2, im.getRows());
            assertEquals(4, im.getCols());
            assertEquals((5 * 7) & 0xff, im.getPixel(0, 1, 1));
            assertEquals((23 * 7) & 0xff, im.getPixel(2, 1, 3));
            int[] l = IdxReader.readLabels(write("lab" + gz, labels(12, 12), gz));
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1}, l);
        }
    }

    private void assertBad(Path f, boolean image, String fragment) {
        IOException e =
                assertThrows(
                        IOException.class,
                        () -> {
                            if (image) {
                                IdxReader.readImages(f);
                            } else {
                                IdxReader.readLabels(f);
                            }
                        });
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(
                e.getMessage().contains(fragment), "'" + fragment + "' not in " + e.getMessage());
    }

    @Test
    void rejectsBadFilesNamingThem() throws IOException {
        assertBad(
                write("magic", images(0x0803, 1, 2, 2, 4), false), false, "not an IDX label file");
        assertBad(write("magic2", labels(4, 4), false), true, "not an IDX image file");
        assertBad(
                write("short", images(IdxReader.IMAGES_MAGIC, 3, 2, 4, 20), false),
                true,
                "header implies");
        assertBad(
                write("long", images(IdxReader.IMAGES_MAGIC, 3, 2, 4, 30), false),
                true,
                "header implies");
        assertBad(
                write("shortgz", images(IdxReader.IMAGES_MAGIC, 3, 2, 4, 20), true),
                true,
                "truncated");
        assertBad(write("longgz", labels(4, 9), true), false, "after its payload");
        assertBad(
                write("neg", images(IdxReader.IMAGES_MAGIC, -1, 2, 2, 0), false),
                true,
                "bad IDX image header");
        assertBad(
                write("huge", images(IdxReader.IMAGES_MAGIC, 100000, 1000, 1000, 0), false),
                true,
                "too large");
        assertBad(write("hdr", Arrays.copyOf(labels(4, 4), 6), false), false, "header truncated");
        assertBad(tmp.resolve("absent"), true, "not found");
    }

    @Test
    void aCountClaimedInsideGzipIsNotAllocatedUpFront() throws IOException {
        // found by IdxReaderFuzzTest: 8 bytes, gzipped, claimed 1.6 GB of labels and got them
        // allocated
        Path f = write("claim.gz", labels(0x6001760a, 3), true);
        com.sun.management.ThreadMXBean mx =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        assertBad(f, false, "truncated, expected 1610708490 bytes, got 3");
        long used = mx.getCurrentThreadAllocatedBytes() - before;
        assertTrue(used < 16 << 20, used + " bytes allocated");
    }
}
