package io.github.lbpdjl.examples.adapt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.RandomAccessDataset;
import java.util.List;
import java.util.stream.IntStream;

/**
 * IDX or CIFAR data in memory ({@link ImageData}), enlarged batch by batch by a whole factor to the
 * model's input ({@link Upsampling}); classes named by their index.
 */
final class ArraySplits implements Splits {

    private final ImageData train;
    private final ImageData test;
    private final int factor;

    /**
     * Wraps two splits.
     *
     * @param train the training split
     * @param test the test split
     * @param factor the whole factor from the data's image size to the model's
     */
    ArraySplits(ImageData train, ImageData test, int factor) {
        this.train = train;
        this.test = test;
        this.factor = factor;
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
        return dataset(manager, train, batch, true);
    }

    @Override
    public RandomAccessDataset test(NDManager manager, int batch) {
        return dataset(manager, test, batch, false);
    }

    private ArrayDataset dataset(NDManager m, ImageData d, int batch, boolean shuffle) {
        NDArray x = m.create(d.images, new Shape(d.count, d.channels, d.size, d.size));
        NDArray y = m.create(d.labels);
        return new ArrayDataset.Builder()
                .setData(x)
                .optLabels(y)
                .optDataBatchifier(new Upsampling(factor))
                .setSampling(batch, shuffle)
                .build();
    }
}
