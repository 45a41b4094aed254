package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.RandomAccessDataset;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IDX and CIFAR splits are read from disk as they are used, not loaded whole. */
class StreamedImagesTest {

    @Test
    void openingASplitDoesNotLoadItsImages(@TempDir Path tmp) throws IOException {
        int n = 5000; // 3.9 MB of IDX pixels (20 MB as floats), 15 MB of CIFAR records
        Path idx = tmp.resolve("idx");
        Files.createDirectories(idx);
        TinyIdx.write(idx, "t10k", n, 3);
        Path cifar = tmp.resolve("cifar");
        Files.createDirectories(cifar);
        try (OutputStream out = Files.newOutputStream(cifar.resolve("test_batch.bin"))) {
            for (int i = 0; i < n; i++) {
                out.write(ImageDataTest.record(i % 10, i, 2 * i, 3 * i));
            }
        }
        long before = allocated();
        ImageData d = ImageData.idx(idx, false, tmp.resolve("cache"));
        long used = allocated() - before;
        assertEquals(n, d.count);
        assertTrue(used < (2 << 20), "IDX: " + used + " bytes allocated to open " + n + " images");
        before = allocated();
        ImageData c = ImageData.cifar(cifar, false, false, false);
        used = allocated() - before;
        assertEquals(n, c.count);
        assertEquals(7, c.labels[1237]);
        assertTrue(used < (2 << 20), "CIFAR: " + used + " bytes allocated to open " + n);
        float[] last = c.image(n - 1);
        assertEquals(((n - 1) & 0xff) / 255f * 2 - 1, last[0], 1e-6);
        assertEquals(((2 * (n - 1)) & 0xff) / 255f * 2 - 1, last[1024], 1e-6);
    }

    @Test
    void batchesHoldTheSplitsImagesAndLabels(@TempDir Path tmp) throws Exception {
        Path idx = tmp.resolve("idx");
        Files.createDirectories(idx);
        TinyIdx.write(idx, "train", 10, 5);
        ImageData d = ImageData.idx(idx, true, tmp.resolve("cache")).head(7);
        RandomAccessDataset ds =
                StreamedImages.builder(d)
                        .optDataBatchifier(new Upsampling(1))
                        .setSampling(3, false)
                        .build();
        assertEquals(7, ds.size());
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            int from = 0;
            for (Batch b : ds.getData(m)) {
                int to = Math.min(from + 3, 7);
                assertArrayEquals(
                        d.images(from, to), b.getData().singletonOrThrow().toFloatArray());
                assertArrayEquals(
                        Arrays.copyOfRange(d.labels, from, to),
                        b.getLabels().singletonOrThrow().toIntArray());
                assertEquals(to - from, b.getData().singletonOrThrow().getShape().get(0));
                b.close();
                from = to;
            }
            assertEquals(7, from);
        }
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getCurrentThreadAllocatedBytes();
    }
}
