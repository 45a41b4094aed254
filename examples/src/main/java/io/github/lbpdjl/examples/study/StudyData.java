package io.github.lbpdjl.examples.study;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;
import io.github.lbpdjl.zoo.data.Mnist;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Images of one split in memory, 32x32 grey as the zoo's {@link Mnist} prepares them (28x28
 * zero-padded by 2, normalised), with int labels.
 *
 * @param images count x 32 x 32 floats
 * @param labels one label per image
 */
public record StudyData(float[] images, int[] labels) {

    private static final int PER = StudyVit.SIZE * StudyVit.SIZE;

    /**
     * Reads a split from a folder of IDX files (gzipped or not).
     *
     * @param dir the folder
     * @param train the training split, else the test split
     * @return the split
     * @throws IOException if a file is missing or malformed
     */
    public static StudyData load(Path dir, boolean train) throws IOException {
        Mnist m = Mnist.load(dir, train);
        return new StudyData(m.getImages(), m.getLabels());
    }

    /**
     * @return the number of images
     */
    public int count() {
        return labels.length;
    }

    /**
     * The first n images (all if n is 0 or more than there are).
     *
     * @param n how many
     * @return the subset
     */
    public StudyData head(int n) {
        if (n <= 0 || n >= count()) {
            return this;
        }
        return new StudyData(Arrays.copyOf(images, n * PER), Arrays.copyOf(labels, n));
    }

    /**
     * The images of classes from..to-1, relabelled 0..to-from-1.
     *
     * @param from the first class
     * @param to one past the last class
     * @return the subset
     */
    public StudyData classes(int from, int to) {
        int n = (int) Arrays.stream(labels).filter(l -> l >= from && l < to).count();
        float[] img = new float[n * PER];
        int[] lab = new int[n];
        int j = 0;
        for (int i = 0; i < count(); i++) {
            if (labels[i] >= from && labels[i] < to) {
                System.arraycopy(images, i * PER, img, j * PER, PER);
                lab[j++] = labels[i] - from;
            }
        }
        return new StudyData(img, lab);
    }

    /**
     * A DJL data set of these images in a manager.
     *
     * @param manager where the arrays live
     * @param batch the batch size
     * @param shuffle whether to shuffle each epoch
     * @return the data set
     */
    public ArrayDataset dataset(NDManager manager, int batch, boolean shuffle) {
        Shape shape = new Shape(count(), 1, StudyVit.SIZE, StudyVit.SIZE);
        return new ArrayDataset.Builder()
                .setData(manager.create(images, shape))
                .optLabels(manager.create(labels))
                .setSampling(batch, shuffle)
                .build();
    }
}
