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
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxImageFileTest {

    @TempDir Path tmp;

    private static byte[] images(int n, int rows, int cols, int payload) {
        ByteBuffer bb = ByteBuffer.allocate(16 + payload);
        bb.putInt(IdxReader.IMAGES_MAGIC).putInt(n).putInt(rows).putInt(cols);
        for (int i = 0; i < payload; i++) {
            bb.put((byte) (i * 7 + i / 13));
        }
        return bb.array();
    }

    private Path write(String name, byte[] data, boolean gzip) throws IOException {
        if (gzip) {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            try (OutputStream os = new GZIPOutputStream(bos)) {
                os.write(data);
            }
            data = bos.toByteArray();
        }
        return Files.write(tmp.resolve(name), data);
    }

    private long files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void readsEachImageAsTheWholeFileReaderDoes() throws IOException {
        for (boolean gz : new boolean[] {false, true}) {
            Path f = write("img" + gz, images(5, 3, 4, 60), gz);
            IdxImages all = IdxReader.readImages(f);
            IdxImageFile file = IdxImageFile.open(f, tmp.resolve("unpacked"));
            assertEquals(5, file.getCount());
            assertEquals(3, file.getRows());
            assertEquals(4, file.getCols());
            byte[] one = new byte[12];
            for (int i = 4; i >= 0; i--) {
                file.read(i, one);
                assertArrayEquals(
                        Arrays.copyOfRange(all.getPixels(), i * 12, i * 12 + 12), one, "" + i);
            }
            assertThrows(IndexOutOfBoundsException.class, () -> file.read(5, one));
        }
    }

    @Test
    void aGzippedFileIsUnpackedOnceAndAgainWhenItChanges() throws IOException {
        Path unpacked = tmp.resolve("unpacked");
        Path f = write("img.gz", images(2, 2, 2, 8), true);
        IdxImageFile.open(f, unpacked);
        IdxImageFile.open(f, unpacked);
        assertEquals(1, files(unpacked));
        write("img.gz", images(3, 2, 2, 12), true);
        Files.setLastModifiedTime(f, FileTime.fromMillis(1_000_000));
        assertEquals(3, IdxImageFile.open(f, unpacked).getCount());
        assertEquals(2, files(unpacked));
    }

    @Test
    void badStreamsAreRefusedNamingTheFileAndLeaveNothing() throws IOException {
        Path unpacked = tmp.resolve("unpacked");
        Path shortGz = write("short.gz", images(4, 2, 2, 15), true);
        IOException e = assertThrows(IOException.class, () -> IdxImageFile.open(shortGz, unpacked));
        assertTrue(e.getMessage().startsWith(shortGz.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        Path longGz = write("long.gz", images(4, 2, 2, 17), true);
        e = assertThrows(IOException.class, () -> IdxImageFile.open(longGz, unpacked));
        assertTrue(e.getMessage().contains("after its payload"), e.getMessage());
        Path shortPlain = write("short", images(4, 2, 2, 15), false);
        e = assertThrows(IOException.class, () -> IdxImageFile.open(shortPlain, unpacked));
        assertTrue(e.getMessage().startsWith(shortPlain.toString()), e.getMessage());
        e =
                assertThrows(
                        IOException.class,
                        () -> IdxImageFile.open(tmp.resolve("missing"), unpacked));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
        assertEquals(0, files(unpacked), "no partial unpacked file");
    }

    @Test
    void openingDoesNotReadTheImagesIntoMemory() throws IOException {
        int n = 20_000;
        Path f = write("big", images(n, 28, 28, n * 784), false);
        Path gz = write("big.gz", images(n, 28, 28, n * 784), true);
        for (Path p : new Path[] {f, gz}) {
            long before = allocated();
            IdxImageFile file = IdxImageFile.open(p, tmp.resolve("unpacked"));
            byte[] last = new byte[784];
            file.read(n - 1, last);
            long used = allocated() - before;
            assertTrue(used < (2 << 20), used + " bytes allocated for " + n * 784 + " of pixels");
        }
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getCurrentThreadAllocatedBytes();
    }
}
