package io.github.lbpdjl.zoo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes {@link IdxReader} and {@link IdxImageFile} (docs/RELIABILITY.md): any file is read, with
 * as many pixels and labels as its header says, or rejected with an IOException naming the file;
 * nothing else may be thrown (no OutOfMemoryError from a size the header claims), and the
 * random-access reader accepts the same files as the whole-file reader, with the same pixels.
 * Seeds: src/test/resources/io/github/lbpdjl/zoo/data/IdxReaderFuzzTestInputs/.
 */
class IdxReaderFuzzTest {

    private static Path file;
    private static Path unpacked;

    @BeforeAll
    static void createFile() throws IOException {
        file = Files.createTempFile("fuzz", ".idx");
        unpacked = Files.createTempDirectory("fuzz-unpacked");
    }

    @AfterAll
    static void deleteFile() throws IOException {
        Files.deleteIfExists(file);
        try (Stream<Path> s = Files.list(unpacked)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Files.delete(p);
            }
        }
        Files.delete(unpacked);
    }

    /** The file as the fuzzer makes it (plain, or a gzip stream if it starts with the magic). */
    @FuzzTest(maxDuration = "60s")
    void plain(byte[] data) throws IOException {
        Files.write(file, data);
        read(data.length);
    }

    /** The fuzzer's bytes gzipped: the decompressed content is fuzzed, not the gzip framing. */
    @FuzzTest(maxDuration = "60s")
    void gzipped(byte[] data) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (OutputStream os = new GZIPOutputStream(bos)) {
            os.write(data);
        }
        Files.write(file, bos.toByteArray());
        read(data.length);
    }

    /**
     * Reads both ways; what is allocated is bounded by the content's real size, not the header's.
     */
    private static void read(int contentBytes) throws IOException {
        long before = allocated();
        IdxImages im = null;
        try {
            im = IdxReader.readImages(file);
            assertTrue(im.getCount() >= 0 && im.getRows() > 0 && im.getCols() > 0);
            if (im.getCount() > 0) {
                im.getPixel(im.getCount() - 1, im.getRows() - 1, im.getCols() - 1);
            }
        } catch (IOException e) {
            assertNamesFile(e);
        }
        streamed(im);
        try {
            int[] labels = IdxReader.readLabels(file);
            for (int l : labels) {
                assertTrue(l >= 0 && l < 256);
            }
        } catch (IOException e) {
            assertNamesFile(e);
        }
        long used = allocated() - before;
        assertTrue(
                used < (32 << 20) + 16L * contentBytes,
                used + " bytes allocated to read " + contentBytes + " bytes of content");
    }

    /** The random-access reader accepts exactly what the whole-file reader accepts, same pixels. */
    private static void streamed(IdxImages whole) throws IOException {
        IdxImageFile f;
        try {
            f = IdxImageFile.open(file, unpacked);
        } catch (IOException e) {
            assertNamesFile(e);
            assertTrue(whole == null, "only the whole-file reader accepts it: " + e);
            return;
        }
        assertTrue(whole != null, "only the random-access reader accepts it");
        assertEquals(whole.getCount(), f.getCount());
        if (f.getCount() > 0) {
            int per = f.getRows() * f.getCols();
            byte[] last = new byte[per];
            f.read(f.getCount() - 1, last);
            int from = (f.getCount() - 1) * per;
            assertArrayEquals(Arrays.copyOfRange(whole.getPixels(), from, from + per), last);
        }
        try (Stream<Path> s = Files.list(unpacked)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Files.delete(p);
            }
        }
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getCurrentThreadAllocatedBytes();
    }

    private static void assertNamesFile(IOException e) {
        assertTrue(
                e.getMessage() != null && e.getMessage().contains(file.toString()),
                "message names the file: " + e);
    }
}
