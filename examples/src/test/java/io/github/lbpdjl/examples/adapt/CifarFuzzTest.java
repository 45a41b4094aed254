package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.sun.management.ThreadMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the CIFAR-10/100 binary reader {@link ImageData#cifar} (docs/RELIABILITY.md): any file is
 * read, every label in range and every pixel in [-1, 1], or rejected with an IOException naming the
 * file; nothing else may be thrown, and memory stays bounded by the file's size. Seeds:
 * src/test/resources/io/github/lbpdjl/examples/adapt/CifarFuzzTestInputs/.
 */
class CifarFuzzTest {

    private static Path dir;

    @BeforeAll
    static void createDir() throws IOException {
        dir = Files.createTempDirectory("fuzz-cifar");
    }

    @AfterAll
    static void deleteDir() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

    /** The same bytes as a CIFAR-10 test batch and a CIFAR-100 test file, in colour and grey. */
    @FuzzTest(maxDuration = "60s")
    void testFile(byte[] data) throws IOException {
        Files.write(dir.resolve("test_batch.bin"), data);
        Files.write(dir.resolve("test.bin"), data);
        for (boolean cifar100 : new boolean[] {false, true}) {
            for (boolean grey : new boolean[] {false, true}) {
                long before = allocated();
                try {
                    ImageData d = ImageData.cifar(dir, false, cifar100, grey);
                    int classes = cifar100 ? 100 : 10;
                    float[] images = d.images(0, d.count);
                    assertEquals(d.count * d.channels * 32 * 32, images.length);
                    for (int l : d.labels) {
                        assertTrue(l >= 0 && l < classes, "label " + l);
                    }
                    for (float v : images) {
                        assertTrue(v >= -1f && v <= 1f, "pixel " + v);
                    }
                } catch (IOException e) {
                    assertTrue(
                            e.getMessage().contains(cifar100 ? "test.bin" : "test_batch.bin"),
                            e.getMessage());
                }
                long used = allocated() - before;
                assertTrue(
                        used < (32 << 20) + 32L * data.length,
                        used + " bytes allocated for " + data.length);
            }
        }
    }

    private static long allocated() {
        return ((ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getCurrentThreadAllocatedBytes();
    }
}
