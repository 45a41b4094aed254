package io.github.lbpdjl.examples.adapt;

import ai.djl.Device;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Records the training loss every 10 batches (mean over them) and prints each epoch's mean loss and
 * step time.
 */
final class LossCurve extends TrainingListenerAdapter {
    /** (step, mean loss of the last 10 batches) pairs. */
    final List<double[]> points = new ArrayList<>();

    private double sum;
    private int n;
    private int step;
    private int epoch;
    private int epochSteps;
    private double epochLoss;
    private long epochStart = System.nanoTime();

    @Override
    public void onEpoch(Trainer trainer) {
        epoch++;
        System.out.printf(
                Locale.ROOT,
                "epoch %d: train loss %.4f, %.1f ms/step%n",
                epoch,
                epochLoss / Math.max(1, epochSteps),
                (System.nanoTime() - epochStart) / 1e6 / Math.max(1, epochSteps));
        epochSteps = 0;
        epochLoss = 0;
        epochStart = System.nanoTime();
    }

    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        for (Device d : batchData.getLabels().keySet()) {
            float l =
                    trainer.getLoss()
                            .evaluate(
                                    batchData.getLabels().get(d), batchData.getPredictions().get(d))
                            .getFloat();
            sum += l;
            epochLoss += l;
            n++;
        }
        step++;
        epochSteps++;
        if (step % 10 == 0) {
            points.add(new double[] {step, sum / n});
            sum = 0;
            n = 0;
        }
    }
}
