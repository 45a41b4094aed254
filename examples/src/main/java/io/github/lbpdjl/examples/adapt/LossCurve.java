package io.github.lbpdjl.examples.adapt;

import java.util.ArrayList;
import java.util.List;

/** The training loss curve: the mean loss of every 10 batches, by step. */
final class LossCurve {
    /** (step, mean loss of the last 10 batches) pairs. */
    final List<double[]> points = new ArrayList<>();

    private double sum;
    private int n;
    private int step;

    /**
     * Records one batch's loss.
     *
     * @param loss the loss
     */
    void add(double loss) {
        sum += loss;
        n++;
        step++;
        if (step % 10 == 0) {
            points.add(new double[] {step, sum / n});
            sum = 0;
            n = 0;
        }
    }
}
