package io.github.lbpdjl.examples.adapt;

import io.github.lbpdjl.zoo.data.IdxImageFile;
import io.github.lbpdjl.zoo.data.IdxReader;
import io.github.lbpdjl.zoo.data.Mnist;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An image classification split read from disk as it is used, so that a data set larger than memory
 * can be trained on: the labels are held (one int per image), each image is read from its file when
 * asked for and prepared as (channels, size, size) floats. Reads IDX (MNIST, Fashion-MNIST, any
 * names; a gzipped file is unpacked once into the cache, as it cannot be read at random) and the
 * CIFAR-10/100 binary format from local files; never downloads.
 */
final class ImageData {

    /** Reads one prepared image. */
    private interface Pixels {
        void read(int index, float[] into) throws IOException;
    }

    final int[] labels;
    final int count;
    final int channels;
    final int size;
    final int classes;
    private final Pixels pixels;

    private ImageData(int[] labels, int channels, int size, int classes, Pixels pixels) {
        this.labels = labels;
        this.count = labels.length;
        this.channels = channels;
        this.size = size;
        this.classes = classes;
        this.pixels = pixels;
    }

    /** The first {@code n} samples (all if n &lt;= 0 or larger than the split). */
    ImageData head(int n) {
        if (n <= 0 || n >= count) {
            return this;
        }
        return new ImageData(Arrays.copyOf(labels, n), channels, size, classes, pixels);
    }

    /**
     * Reads one image.
     *
     * @param index 0 to count - 1
     * @return channels * size * size floats, prepared
     * @throws IOException naming the file if it cannot be read
     */
    float[] image(int index) throws IOException {
        float[] out = new float[channels * size * size];
        pixels.read(index, out);
        return out;
    }

    /**
     * Reads a range of images into one array, (to - from, channels, size, size) row-major.
     *
     * @param from the first image
     * @param to one past the last
     * @return the pixels
     * @throws IOException naming the file if it cannot be read
     */
    float[] images(int from, int to) throws IOException {
        int per = channels * size * size;
        float[] out = new float[(to - from) * per];
        float[] one = new float[per];
        for (int i = from; i < to; i++) {
            pixels.read(i, one);
            System.arraycopy(one, 0, out, (i - from) * per, per);
        }
        return out;
    }

    /**
     * Opens a split of the program's --data in its --format.
     *
     * @param data a local folder, four IDX files separated by commas, or (IDX only) a base URL
     *     downloaded once into {@code cache}
     * @param format idx, cifar10 or cifar100 (checked before, by {@link OptionCheck})
     * @param cache the download cache, also where gzipped IDX files are unpacked
     * @param train the training split, else the test split
     * @param grey CIFAR averaged to one grey channel (for a one-channel model), else in colour
     * @return the split
     * @throws IOException if a file is missing or malformed, or a download fails
     */
    static ImageData load(String data, String format, Path cache, boolean train, boolean grey)
            throws IOException {
        if (format.equals("idx") && data.contains(",")) {
            String[] files = data.split(",");
            return idxFiles(Path.of(files[train ? 0 : 2]), Path.of(files[train ? 1 : 3]), cache);
        }
        if (format.equals("idx")) {
            return idx(Fetch.idxFolder(data, cache), train, cache);
        }
        return cifar(Path.of(data), train, format.equals("cifar100"), grey);
    }

    /**
     * Opens a split of an IDX data set in a folder of the four standard files ({@code
     * train-images-idx3-ubyte}, {@code train-labels-idx1-ubyte}, {@code t10k-...}, each optionally
     * {@code .gz}); ten classes.
     */
    static ImageData idx(Path dir, boolean train, Path cache) throws IOException {
        requireDir(
                dir,
                "four IDX files (Fashion-MNIST: apt-get install dataset-fashion-mnist; or give"
                        + " four files of any names as --data a,b,c,d)");
        String prefix = train ? "train" : "t10k";
        Path labelFile = find(dir, prefix + "-labels-idx1-ubyte");
        ImageData d = idxFiles(find(dir, prefix + "-images-idx3-ubyte"), labelFile, cache);
        if (d.classes > 10) {
            throw new IOException(labelFile + ": label " + (d.classes - 1) + " > 9");
        }
        return new ImageData(d.labels, d.channels, d.size, 10, d.pixels);
    }

    /**
     * Opens two IDX files of any names: images at most 32x32, zero-padded to 32x32 and normalised
     * as the zoo's MNIST model was trained. The classes are 0 to the largest label (at least 2).
     */
    static ImageData idxFiles(Path images, Path labelFile, Path cache) throws IOException {
        IdxImageFile file = IdxImageFile.open(images, cache.resolve("unpacked"));
        int[] labels = IdxReader.readLabels(labelFile);
        if (file.getCount() != labels.length) {
            throw new IOException(
                    images
                            + " has "
                            + file.getCount()
                            + " images but "
                            + labelFile
                            + " has "
                            + labels.length
                            + " labels");
        }
        int rows = file.getRows();
        int cols = file.getCols();
        if (rows > Mnist.SIZE || cols > Mnist.SIZE) {
            throw new IOException(
                    String.format(
                            "%s: images are %dx%d, at most %dx%d can be padded",
                            images, rows, cols, Mnist.SIZE, Mnist.SIZE));
        }
        int classes = Math.max(2, Arrays.stream(labels).max().orElse(0) + 1);
        int top = (Mnist.SIZE - rows) / 2;
        int left = (Mnist.SIZE - cols) / 2;
        float background = -Mnist.MEAN / Mnist.STD;
        Pixels pixels =
                (index, out) -> {
                    byte[] px = new byte[rows * cols];
                    file.read(index, px);
                    Arrays.fill(out, background);
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            float v = (px[r * cols + c] & 0xff) / 255f;
                            out[(r + top) * Mnist.SIZE + c + left] = (v - Mnist.MEAN) / Mnist.STD;
                        }
                    }
                };
        return new ImageData(labels, 1, Mnist.SIZE, classes, pixels);
    }

    /**
     * Opens CIFAR-10 ({@code data_batch_1..5.bin}, {@code test_batch.bin}) or CIFAR-100 ({@code
     * train.bin}, {@code test.bin}, fine labels) binary files; images are 32x32 RGB, normalised per
     * channel to mean 0.5, std 0.5, and averaged to grey if {@code grey}. The labels are read and
     * checked here, the pixels when used.
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
        long[] starts = new long[files.size() + 1]; // first record of each file
        long total = 0;
        for (int f = 0; f < files.size(); f++) {
            Path file = files.get(f);
            if (!Files.isRegularFile(file)) {
                throw new IOException(
                        "CIFAR file " + file + " not found; expected the binary version in " + dir);
            }
            long len = Files.size(file);
            if (len == 0 || len % record != 0) {
                throw new IOException(
                        file
                                + ": "
                                + len
                                + " bytes is not a whole number of "
                                + record
                                + "-byte records");
            }
            starts[f] = total;
            total += len / record;
        }
        starts[files.size()] = total;
        if (total > Integer.MAX_VALUE - 8) {
            throw new IOException(dir + ": " + total + " CIFAR records are too many");
        }
        int[] labels = new int[(int) total];
        for (int f = 0; f < files.size(); f++) {
            Path file = files.get(f);
            try (DataInputStream in =
                    new DataInputStream(
                            new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
                byte[] label = new byte[labelBytes];
                for (long r = 0; r < starts[f + 1] - starts[f]; r++) {
                    in.readFully(label);
                    in.skipNBytes(3072);
                    int l = label[labelBytes - 1] & 0xff;
                    if (l >= (cifar100 ? 100 : 10)) {
                        throw new IOException(file + ": record " + r + " has label " + l);
                    }
                    labels[(int) (starts[f] + r)] = l;
                }
            }
        }
        Pixels pixels =
                (index, out) -> {
                    int f = 0;
                    while (starts[f + 1] <= index) {
                        f++;
                    }
                    byte[] px = new byte[3072];
                    readFully(files.get(f), (index - starts[f]) * record + labelBytes, px);
                    for (int i = 0; i < 1024; i++) {
                        if (grey) {
                            float v =
                                    ((px[i] & 0xff) + (px[1024 + i] & 0xff) + (px[2048 + i] & 0xff))
                                            / (3 * 255f);
                            out[i] = (v - 0.5f) / 0.5f;
                        } else {
                            for (int c = 0; c < 3; c++) {
                                out[c * 1024 + i] =
                                        ((px[c * 1024 + i] & 0xff) / 255f - 0.5f) / 0.5f;
                            }
                        }
                    }
                };
        return new ImageData(labels, grey ? 1 : 3, 32, cifar100 ? 100 : 10, pixels);
    }

    private static void readFully(Path file, long position, byte[] into) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(into);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (b.hasRemaining()) {
                if (ch.read(b, position + b.position()) < 0) {
                    throw new IOException(file + ": ended at " + position + " (changed?)");
                }
            }
        }
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
                "IDX file "
                        + name
                        + "[.gz] not found in "
                        + dir.toAbsolutePath()
                        + "; give four files of any names as --data a,b,c,d");
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
