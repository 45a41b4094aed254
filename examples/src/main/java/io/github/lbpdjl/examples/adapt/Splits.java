package io.github.lbpdjl.examples.adapt;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.RandomAccessDataset;
import io.github.lbpdjl.zoo.Preprocessing;
import java.io.IOException;
import java.util.List;

/**
 * The training and test data of a run as DJL datasets, sized for the model: IDX and CIFAR files
 * held in memory ({@link ArraySplits}) or a folder of images read from disk batch by batch ({@link
 * FolderSplits}).
 */
interface Splits {

    /**
     * Returns the class names, in label order.
     *
     * @return the names
     */
    List<String> classNames();

    /**
     * Returns the number of channels the images are given to the model with.
     *
     * @return 1 or 3
     */
    int channels();

    /**
     * Returns how an image file must be prepared to look like this data to the model: the saved
     * model's preprocessing (size, crop, mean and std per channel).
     *
     * @return the preprocessing
     */
    Preprocessing preprocessing();

    /**
     * Returns the number of training images.
     *
     * @return the count
     */
    long trainCount();

    /**
     * Returns the number of test images.
     *
     * @return the count
     */
    long testCount();

    /**
     * Returns the training split, shuffled, in batches.
     *
     * @param manager the manager of arrays the split holds
     * @param batch the batch size
     * @return the dataset
     * @throws IOException if the data cannot be read
     */
    RandomAccessDataset train(NDManager manager, int batch) throws IOException;

    /**
     * Returns the test split, in order, in batches.
     *
     * @param manager the manager of arrays the split holds
     * @param batch the batch size
     * @return the dataset
     * @throws IOException if the data cannot be read
     */
    RandomAccessDataset test(NDManager manager, int batch) throws IOException;
}
