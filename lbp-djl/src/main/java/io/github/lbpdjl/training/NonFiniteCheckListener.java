package io.github.lbpdjl.training;

import ai.djl.Device;
import ai.djl.TrainingDivergedException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.util.Pair;
import com.google.gson.JsonObject;
import io.github.lbpdjl.engine.LbpEngineAdapter;
import io.github.lbpdjl.nn.LbpLayer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After each backward pass (before the optimizer step), checks the step's loss and the gradients of
 * the LBP-WHT layers for NaN or Inf, and stops training naming the step and the layers, or skips
 * the step by zeroing every gradient ({@link NonFiniteAction}).
 */
public final class NonFiniteCheckListener extends TrainingListenerAdapter
        implements StatefulListener {

    private static final Logger logger = LoggerFactory.getLogger(NonFiniteCheckListener.class);

    private final NonFiniteAction action;
    private Map<String, LbpLayer> layers = Collections.emptyMap();
    private int steps;
    private int epochs;
    private int skippedSteps;

    /**
     * Creates the check.
     *
     * @param action stop, skip the step, or do not check
     */
    public NonFiniteCheckListener(NonFiniteAction action) {
        this.action = Objects.requireNonNull(action, "action");
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBegin(Trainer trainer) {
        layers = LbpLayers.of(trainer.getModel());
    }

    /** {@inheritDoc} */
    @Override
    public void onEpoch(Trainer trainer) {
        epochs++;
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        check(trainer, batchData);
        steps++;
    }

    private void check(Trainer trainer, BatchData batchData) {
        if (action == NonFiniteAction.OFF) {
            return;
        }
        List<String> bad = new ArrayList<>();
        for (Device d : batchData.getLabels().keySet()) {
            NDList predictions = batchData.getPredictions().get(d);
            if (predictions == null) {
                continue;
            }
            try (NDArray loss =
                    trainer.getLoss().evaluate(batchData.getLabels().get(d), predictions)) {
                float v = loss.toType(DataType.FLOAT32, false).getFloat();
                if (!Float.isFinite(v)) {
                    bad.add("the loss (" + v + ")");
                }
            }
        }
        for (Map.Entry<String, LbpLayer> e : layers.entrySet()) {
            for (Pair<String, Parameter> p : e.getValue().getParameters()) {
                NDArray w = p.getValue().isInitialized() ? p.getValue().getArray() : null;
                if (w == null || !p.getValue().requiresGradient() || !w.hasGradient()) {
                    continue;
                }
                try (NDArray g = w.getGradient()) {
                    if (!isAllFinite(g)) {
                        bad.add(e.getKey() + "." + p.getKey() + " gradient");
                    }
                }
            }
        }
        if (bad.isEmpty()) {
            return;
        }
        String what =
                String.format(
                        Locale.ROOT,
                        "LBP-WHT: NaN or Inf at step %d (epoch %d): %s",
                        steps + 1,
                        epochs + 1,
                        String.join(", ", bad));
        if (action == NonFiniteAction.STOP) {
            throw new TrainingDivergedException(what);
        }
        skippedSteps++;
        logger.warn(
                "{}; zeroing this step's gradients ({} steps skipped so far)", what, skippedSteps);
        LbpEngineAdapter.zeroGradients(trainer.getModel().getBlock());
    }

    /**
     * Whether every entry of an array is finite. One reduction without a copy: the norm of finite
     * entries is finite unless their squares overflow, so only a non-finite norm is checked entry
     * by entry ({@code g - g} is 0 where g is finite and NaN elsewhere). The norm rather than the
     * sum: as fast on PyTorch, a third faster on MXNet.
     *
     * @param g the array
     * @return true if no entry is NaN or infinite
     */
    static boolean isAllFinite(NDArray g) {
        try (NDArray norm = g.norm()) {
            if (Float.isFinite(norm.toType(DataType.FLOAT32, false).getFloat())) {
                return true;
            }
        }
        try (NDArray zero = g.sub(g);
                NDArray sum = zero.sum()) {
            return Float.isFinite(sum.toType(DataType.FLOAT32, false).getFloat());
        }
    }

    /**
     * Returns how many steps {@link NonFiniteAction#SKIP} has skipped.
     *
     * @return the count
     */
    public int getSkippedSteps() {
        return skippedSteps;
    }

    /** {@inheritDoc} */
    @Override
    public String getState() {
        JsonObject o = new JsonObject();
        o.addProperty("steps", steps);
        o.addProperty("epochs", epochs);
        o.addProperty("skippedSteps", skippedSteps);
        return o.toString();
    }

    /** {@inheritDoc} */
    @Override
    public void restoreState(String json) {
        JsonObject o = States.parse(json, "non-finite check");
        steps = States.getInt(o, "steps");
        epochs = States.getInt(o, "epochs");
        skippedSteps = States.getInt(o, "skippedSteps");
    }
}
