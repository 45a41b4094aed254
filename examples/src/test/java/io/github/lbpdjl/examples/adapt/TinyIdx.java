package io.github.lbpdjl.examples.adapt;

import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/** Tiny IDX data sets for the adaptation program's tests. */
public final class TinyIdx {

    private TinyIdx() {}

    /**
     * Writes a training and a test split into a new folder.
     *
     * @param dir the folder, created
     * @param train training images
     * @param test test images
     * @return the folder
     * @throws IOException if it cannot be written
     */
    public static Path write(Path dir, int train, int test) throws IOException {
        Files.createDirectories(dir);
        write(dir, "train", train, 1);
        write(dir, "t10k", test, 2);
        return dir;
    }

    /**
     * Writes one split: class c has a bright c-th row band, so it is learnable. Images gzipped,
     * labels not (the reader takes both).
     */
    public static void write(Path dir, String prefix, int n, long seed) throws IOException {
        write(dir, prefix, n, seed, 10);
    }

    /** Writes one split of {@code classes} classes (at most 10). */
    static void write(Path dir, String prefix, int n, long seed, int classes) throws IOException {
        Random r = new Random(seed);
        byte[] labels = new byte[n];
        byte[] pixels = new byte[n * 28 * 28];
        for (int i = 0; i < n; i++) {
            int c = r.nextInt(classes);
            labels[i] = (byte) c;
            for (int p = 0; p < 28 * 28; p++) {
                int row = p / 28;
                int v = row / 3 == c ? 200 + r.nextInt(55) : r.nextInt(60);
                pixels[i * 784 + p] = (byte) v;
            }
        }
        try (DataOutputStream out =
                new DataOutputStream(
                        new GZIPOutputStream(
                                Files.newOutputStream(
                                        dir.resolve(prefix + "-images-idx3-ubyte.gz"))))) {
            out.writeInt(0x803);
            out.writeInt(n);
            out.writeInt(28);
            out.writeInt(28);
            out.write(pixels);
        }
        try (DataOutputStream out =
                new DataOutputStream(
                        Files.newOutputStream(dir.resolve(prefix + "-labels-idx1-ubyte")))) {
            out.writeInt(0x801);
            out.writeInt(n);
            out.write(labels);
        }
    }
}
