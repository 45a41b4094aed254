package io.github.lbpdjl.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.translate.TranslateException;
import java.io.IOException;

/** The listener tests' training loop: epochs of steps, each followed by the mean training loss. */
public final class TrainLoop {

    private TrainLoop() {}

    /**
     * Trains for some epochs; after each, evaluates the loss over the same data and notifies the
     * listeners' {@code onEpoch}.
     *
     * @param trainer the trainer, initialised
     * @param data the data
     * @param epochs how many epochs
     * @return the mean loss after each epoch
     * @throws IOException if the data cannot be read
     * @throws TranslateException if a batch cannot be made
     */
    public static float[] epochs(Trainer trainer, Dataset data, int epochs)
            throws IOException, TranslateException {
        float[] losses = new float[epochs];
        for (int e = 0; e < epochs; e++) {
            for (Batch b : trainer.iterateDataset(data)) {
                EasyTrain.trainBatch(trainer, b);
                trainer.step();
                b.close();
            }
            float sum = 0;
            int n = 0;
            for (Batch b : trainer.iterateDataset(data)) {
                NDArray pred = trainer.evaluate(b.getData()).singletonOrThrow();
                sum += trainer.getLoss().evaluate(b.getLabels(), new NDList(pred)).getFloat();
                n++;
                b.close();
            }
            losses[e] = sum / n;
            trainer.notifyListeners(l -> l.onEpoch(trainer));
        }
        return losses;
    }
}
