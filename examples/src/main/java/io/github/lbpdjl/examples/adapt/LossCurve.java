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

    /**
     * Returns the curve and the batches not yet averaged into it, to save with a checkpoint.
     *
     * @return a copy of the state
     */
    State state() {
        State s = new State();
        s.points = new ArrayList<>(points);
        s.sum = sum;
        s.n = n;
        s.step = step;
        return s;
    }

    /**
     * Continues from a saved state: the same curve as if the batches had been added here.
     *
     * @param s a state from {@link #state()}
     */
    void restore(State s) {
        points.clear();
        points.addAll(s.points);
        sum = s.sum;
        n = s.n;
        step = s.step;
    }

    /** The curve's state, as Gson writes it. */
    static final class State {
        List<double[]> points = new ArrayList<>();
        double sum;
        int n;
        int step;
    }
}
