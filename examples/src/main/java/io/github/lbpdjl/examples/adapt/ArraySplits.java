package io.github.lbpdjl.examples.adapt;

import ai.djl.modality.cv.Image;
import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.RandomAccessDataset;
import io.github.lbpdjl.zoo.Preprocessing;
import io.github.lbpdjl.zoo.data.Mnist;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * IDX or CIFAR data read from disk as it is used ({@link ImageData}), enlarged batch by batch by a
 * whole factor to the model's input ({@link Upsampling}); classes named by their index.
 */
final class ArraySplits implements Splits {

    private final ImageData train;
    private final ImageData test;
    private final int factor;
    private final boolean idx;

    /**
     * Wraps two splits.
     *
     * @param train the training split
     * @param test the test split
     * @param factor the whole factor from the data's image size to the model's
     * @param idx IDX data (28x28 padded to 32x32, MNIST's normalisation), else CIFAR (0.5, 0.5)
     */
    ArraySplits(ImageData train, ImageData test, int factor, boolean idx) {
        this.train = train;
        this.test = test;
        this.factor = factor;
        this.idx = idx;
    }

    /**
     * The data's own preparation at the model's size: IDX digits are 28 pixels padded to 32 (a crop
     * fraction of 32/28) with MNIST's mean and std; CIFAR fills the 32 pixels, mean and std 0.5.
     */
    @Override
    public Preprocessing preprocessing() {
        float[] mean = new float[train.channels];
        float[] std = new float[train.channels];
        Arrays.fill(mean, idx ? Mnist.MEAN : 0.5f);
        Arrays.fill(std, idx ? Mnist.STD : 0.5f);
        return Preprocessing.builder()
                .setImageSize(train.size * factor)
                .optInterpolation(Image.Interpolation.BILINEAR)
                .optCropPct(idx ? 32.0 / 28 : 1.0)
                .optMean(mean)
                .optStd(std)
                .build();
    }

    @Override
    public List<String> classNames() {
        int classes = Math.max(train.classes, test.classes);
        return IntStream.range(0, classes).mapToObj(String::valueOf).toList();
    }

    @Override
    public int channels() {
        return train.channels;
    }

    @Override
    public long trainCount() {
        return train.count;
    }

    @Override
    public long testCount() {
        return test.count;
    }

    @Override
    public RandomAccessDataset train(NDManager manager, int batch) {
        return dataset(train, batch, true);
    }

    @Override
    public RandomAccessDataset test(NDManager manager, int batch) {
        return dataset(test, batch, false);
    }

    private RandomAccessDataset dataset(ImageData d, int batch, boolean shuffle) {
        return StreamedImages.builder(d)
                .optDataBatchifier(new Upsampling(factor))
                .setSampling(batch, shuffle)
                .build();
    }
}
