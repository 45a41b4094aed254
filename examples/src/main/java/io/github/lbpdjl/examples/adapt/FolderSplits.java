package io.github.lbpdjl.examples.adapt;

import ai.djl.basicdataset.cv.classification.ImageFolder;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.transform.CenterCrop;
import ai.djl.modality.cv.transform.Normalize;
import ai.djl.modality.cv.transform.RandomFlipLeftRight;
import ai.djl.modality.cv.transform.RandomResizedCrop;
import ai.djl.modality.cv.transform.ResizeShort;
import ai.djl.modality.cv.transform.ToTensor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.translate.TranslateException;
import io.github.lbpdjl.zoo.Preprocessing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;

/**
 * A folder of images, one sub-folder per class (JPEG, PNG, ...), read with DJL's {@link
 * ImageFolder} from disk batch by batch, so a data set larger than memory is never loaded whole.
 * Either {@code DIR/train} and {@code DIR/test} with the same class folders, or one folder split by
 * a seeded shuffle. Images go to the model at its input size and channels (grey images are repeated
 * over three channels, colour ones made grey for a one-channel model) and normalised as the model
 * expects ({@link ModelInput}); training images get timm's augmentation (random resized crop,
 * horizontal flip) unless switched off, test images are resized and centre-cropped.
 */
final class FolderSplits implements Splits {

    private final List<String> classes;
    private final Preprocessing input;
    private final boolean augment;
    private final Path trainDir;
    private final Path testDir;
    private final List<Long> trainIndices;
    private final List<Long> testIndices;

    private FolderSplits(
            List<String> classes,
            Preprocessing input,
            boolean augment,
            Path trainDir,
            Path testDir,
            List<Long> trainIndices,
            List<Long> testIndices) {
        this.classes = classes;
        this.input = input;
        this.augment = augment;
        this.trainDir = trainDir;
        this.testDir = testDir;
        this.trainIndices = trainIndices;
        this.testIndices = testIndices;
    }

    /**
     * Returns whether a folder holds class sub-folders rather than IDX or CIFAR files.
     *
     * @param dir the folder
     * @return true if it has a sub-folder and no IDX ({@code *-ubyte*}) or CIFAR ({@code *.bin})
     *     file
     * @throws IOException if it cannot be listed
     */
    static boolean isImageFolder(Path dir) throws IOException {
        boolean sub = false;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.contains("-ubyte") || n.endsWith(".bin")) {
                    return false;
                }
                sub |= Files.isDirectory(p) && !n.startsWith(".");
            }
        }
        return sub;
    }

    /**
     * Opens a folder of images and checks it.
     *
     * @param dir the folder
     * @param input how the model takes images
     * @param testFraction the share of images held out for testing when there is no test folder
     * @param seed the seed of that split
     * @param augment whether training images are augmented
     * @param trainSize training images used, 0 = all
     * @param testSize test images used, 0 = all
     * @return the splits
     * @throws IOException naming the folder if it holds no images in class folders, has fewer than
     *     two classes, or its train and test folders name other classes
     */
    static FolderSplits open(
            Path dir,
            Preprocessing input,
            double testFraction,
            int seed,
            boolean augment,
            int trainSize,
            int testSize)
            throws IOException {
        Path train = dir.resolve("train");
        Path test = dir.resolve("test");
        boolean two = Files.isDirectory(train) && Files.isDirectory(test);
        Listing first = list(two ? train : dir);
        List<String> classes = first.classes();
        List<Long> trainIdx;
        List<Long> testIdx;
        if (two) {
            Listing second = list(test);
            if (!second.classes().equals(classes)) {
                throw new IOException(
                        test
                                + " has the classes "
                                + second.classes()
                                + ", "
                                + train
                                + " "
                                + classes);
            }
            trainIdx = range(first.images());
            testIdx = range(second.images());
        } else {
            List<Long> all = range(first.images());
            Collections.shuffle(all, new Random(seed));
            int held = (int) Math.round(all.size() * testFraction);
            if (held < 1 || held >= all.size()) {
                throw new IOException(
                        String.format(
                                Locale.ROOT,
                                "%s: %d images cannot be split %.2f for testing; give more images,"
                                        + " another --test-fraction, or train/ and test/"
                                        + " folders",
                                dir,
                                all.size(),
                                testFraction));
            }
            testIdx = new ArrayList<>(all.subList(0, held));
            trainIdx = new ArrayList<>(all.subList(held, all.size()));
        }
        return new FolderSplits(
                classes,
                input,
                augment,
                two ? train : dir,
                two ? test : dir,
                head(trainIdx, trainSize),
                head(testIdx, testSize));
    }

    /** A folder's class names and number of images. */
    private record Listing(List<String> classes, long images) {}

    /** Lists a folder's images once, checking that it has two class folders of images or more. */
    private static Listing list(Path dir) throws IOException {
        ImageFolder f = ImageFolder.builder().setRepositoryPath(dir).setSampling(1, false).build();
        List<String> classes;
        try {
            f.prepare();
            classes = f.getSynset();
        } catch (TranslateException | RuntimeException e) {
            throw new IOException(dir + ": cannot list its images: " + e.getMessage(), e);
        }
        if (classes.size() < 2 || f.size() == 0) {
            throw new IOException(
                    dir
                            + " holds "
                            + f.size()
                            + " images in "
                            + classes.size()
                            + " class folders; need at least two class folders of images (JPEG,"
                            + " PNG)");
        }
        return new Listing(classes, f.size());
    }

    private static List<Long> range(long n) {
        List<Long> out = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            out.add(i);
        }
        return out;
    }

    private static List<Long> head(List<Long> indices, int n) {
        return n <= 0 || n >= indices.size() ? indices : new ArrayList<>(indices.subList(0, n));
    }

    /** Pads a (C, H, W) image with zeros to side x side, centred. */
    private static NDArray padTo(NDArray x, int side) {
        long h = x.getShape().get(1);
        long w = x.getShape().get(2);
        if (h >= side && w >= side) {
            return x;
        }
        NDArray out = x.getManager().zeros(new Shape(x.getShape().get(0), side, side));
        long top = (side - h) / 2;
        long left = (side - w) / 2;
        out.set(new NDIndex(":, {}:{}, {}:{}", top, top + h, left, left + w), x);
        return out;
    }

    @Override
    public Preprocessing preprocessing() {
        return input;
    }

    @Override
    public List<String> classNames() {
        return classes;
    }

    @Override
    public int channels() {
        return input.getChannels();
    }

    @Override
    public long trainCount() {
        return trainIndices.size();
    }

    @Override
    public long testCount() {
        return testIndices.size();
    }

    @Override
    public RandomAccessDataset train(NDManager manager, int batch) throws IOException {
        return folder(trainDir, augment, batch, true).subDataset(trainIndices);
    }

    @Override
    public RandomAccessDataset test(NDManager manager, int batch) throws IOException {
        return folder(testDir, false, batch, false).subDataset(testIndices);
    }

    private ImageFolder folder(Path dir, boolean train, int batch, boolean shuffle)
            throws IOException {
        int side = input.getImageSize();
        ImageFolder.Builder b =
                ImageFolder.builder()
                        .setRepositoryPath(dir)
                        .optFlag(input.getChannels() == 1 ? Image.Flag.GRAYSCALE : Image.Flag.COLOR)
                        .setSampling(batch, shuffle);
        if (train) {
            // timm's training transform: scale 0.08-1, aspect 3/4-4/3, then a horizontal flip
            b.addTransform(new RandomResizedCrop(side, side, 0.08, 1, 3.0 / 4, 4.0 / 3))
                    .addTransform(new RandomFlipLeftRight());
        } else {
            int resize = input.getResizeSize();
            b.addTransform(new ResizeShort(resize, -1, input.getInterpolation()));
            if (resize >= side) {
                b.addTransform(new CenterCrop(side, side));
            }
        }
        b.addTransform(new ToTensor());
        if (!train && input.getResizeSize() < side) {
            // the crop is larger than the resized image (the MNIST ViT's 28 in 32): black border,
            // as the zoo's translator does
            b.addTransform(x -> padTo(x, side));
        }
        if (input.getChannels() == 3) {
            b.addTransform(new Normalize(input.getMean(), input.getStd()));
        } else {
            // DJL's Normalize assumes three channels
            float mean = input.getMean()[0];
            float std = input.getStd()[0];
            b.addTransform(x -> x.sub(mean).div(std));
        }
        ImageFolder f = b.build();
        try {
            f.prepare();
        } catch (TranslateException e) {
            throw new IOException(dir + ": " + e.getMessage(), e);
        }
        return f;
    }
}
