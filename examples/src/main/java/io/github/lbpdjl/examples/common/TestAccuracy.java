package io.github.lbpdjl.examples.common;

import ai.djl.ndarray.NDArray;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.translate.TranslateException;
import java.io.IOException;

/** Top-1 accuracy of a trainer's model over a data set, the programs' one evaluation. */
public final class TestAccuracy {

    private TestAccuracy() {}

    /**
     * Evaluates the model on every batch and counts the arg-max predictions equal to the labels.
     *
     * @param trainer the trainer whose model is evaluated
     * @param test the data set
     * @return the fraction correct
     * @throws IOException if the data cannot be read
     * @throws TranslateException if a batch cannot be made
     */
    public static double of(Trainer trainer, Dataset test) throws IOException, TranslateException {
        long correct = 0;
        long n = 0;
        for (Batch b : trainer.iterateDataset(test)) {
            NDArray pred = trainer.evaluate(b.getData()).singletonOrThrow().argMax(1);
            NDArray label = b.getLabels().singletonOrThrow().toType(pred.getDataType(), false);
            correct += pred.eq(label).sum().getLong();
            n += label.size();
            b.close();
        }
        return (double) correct / n;
    }
}
