package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageDataTest {

    /** One CIFAR-10 record: label, then 1024 red, 1024 green, 1024 blue bytes. */
    static byte[] record(int label, int r, int g, int b) {
        byte[] rec = new byte[1 + 3072];
        rec[0] = (byte) label;
        for (int i = 0; i < 1024; i++) {
            rec[1 + i] = (byte) r;
            rec[1 + 1024 + i] = (byte) g;
            rec[1 + 2048 + i] = (byte) b;
        }
        return rec;
    }

    @Test
    void readsCifar10BinaryInColourAndGrey(@TempDir Path dir) throws IOException {
        byte[] two = new byte[2 * 3073];
        System.arraycopy(record(3, 255, 0, 0), 0, two, 0, 3073);
        System.arraycopy(record(9, 0, 0, 255), 0, two, 3073, 3073);
        Files.write(dir.resolve("test_batch.bin"), two);
        ImageData rgb = ImageData.cifar(dir, false, false, false);
        assertEquals(2, rgb.count);
        assertEquals(3, rgb.channels);
        assertEquals(3, rgb.labels[0]);
        assertEquals(9, rgb.labels[1]);
        assertEquals(1f, rgb.image(0)[0]); // red of image 0: (1 - 0.5) / 0.5
        assertEquals(-1f, rgb.image(0)[1024]); // green of image 0
        assertEquals(1f, rgb.image(1)[2048]); // blue of image 1
        assertEquals(1f, rgb.images(0, 2)[3072 + 2048]);
        ImageData grey = ImageData.cifar(dir, false, false, true);
        assertEquals(1, grey.channels);
        assertEquals((1f / 3 - 0.5f) / 0.5f, grey.image(0)[0], 1e-6);
    }

    @Test
    void badCifarFilesNameTheProblem(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("test_batch.bin"), new byte[3073 + 5]);
        IOException e =
                assertThrows(IOException.class, () -> ImageData.cifar(dir, false, false, true));
        assertTrue(
                e.getMessage().contains("test_batch.bin") && e.getMessage().contains("3073"),
                e.getMessage());
        Files.write(dir.resolve("test_batch.bin"), record(12, 0, 0, 0));
        e = assertThrows(IOException.class, () -> ImageData.cifar(dir, false, false, true));
        assertTrue(e.getMessage().contains("label 12"), e.getMessage());
        e = assertThrows(IOException.class, () -> ImageData.cifar(dir, true, false, true));
        assertTrue(e.getMessage().contains("data_batch_1.bin"), e.getMessage());
    }

    @Test
    void readsCifar100FineLabels(@TempDir Path dir) throws IOException {
        byte[] rec = new byte[2 + 3072];
        rec[0] = 4; // coarse
        rec[1] = 77; // fine
        Files.write(dir.resolve("train.bin"), rec);
        ImageData d = ImageData.cifar(dir, true, true, true);
        assertEquals(77, d.labels[0]);
        assertEquals(100, d.classes);
    }
}
