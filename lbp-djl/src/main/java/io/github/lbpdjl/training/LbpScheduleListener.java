package io.github.lbpdjl.training;

import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.nn.LbpLayer;
import io.github.lbpdjl.wht.BasisSelection;
import java.util.Collections;
import java.util.Map;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Schedules LBP-WHT over training: full backprop for the first steps or epochs (a warm-up; also the
 * calibration of an energy-adaptive selection, see {@link GradientEnergyListener}), then LBP-WHT;
 * and a basis selection by epoch. It is the one listener that switches the LBP-WHT layers on and
 * off and sets their selection by epoch; its state holds each layer's configuration (a selection
 * chosen by energy included) for checkpoints.
 */
public final class LbpScheduleListener extends TrainingListenerAdapter implements StatefulListener {

    private static final Logger logger = LoggerFactory.getLogger(LbpScheduleListener.class);

    private final int fullBackpropSteps;
    private final int fullBackpropEpochs;
    private final IntFunction<BasisSelection> selectionByEpoch;
    private Map<String, LbpLayer> layers = Collections.emptyMap();
    private int steps;
    private int epochs;

    /**
     * Creates the schedule.
     *
     * @param fullBackpropSteps the number of steps trained with full backprop first, at least 0
     * @param fullBackpropEpochs the number of epochs trained with full backprop first, at least 0
     * @param selectionByEpoch the basis selection by epoch (0-based; null keeps the current), or
     *     null
     */
    public LbpScheduleListener(
            int fullBackpropSteps,
            int fullBackpropEpochs,
            IntFunction<BasisSelection> selectionByEpoch) {
        this.fullBackpropSteps = requireNonNegative(fullBackpropSteps, "full backprop steps");
        this.fullBackpropEpochs = requireNonNegative(fullBackpropEpochs, "full backprop epochs");
        this.selectionByEpoch = selectionByEpoch;
    }

    static int requireNonNegative(int v, String what) {
        if (v < 0) {
            throw new IllegalArgumentException(what + " must be >= 0, got " + v);
        }
        return v;
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBegin(Trainer trainer) {
        layers = LbpLayers.of(trainer.getModel());
        applySelection(0);
        setEnabled(fullBackpropSteps == 0 && fullBackpropEpochs == 0);
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        steps++;
        if (warmedUp()) {
            setEnabled(true);
        }
    }

    /** {@inheritDoc} */
    @Override
    public void onEpoch(Trainer trainer) {
        epochs++;
        if (warmedUp()) {
            setEnabled(true);
        }
        applySelection(epochs);
    }

    private boolean warmedUp() {
        return steps >= fullBackpropSteps && epochs >= fullBackpropEpochs;
    }

    private void setEnabled(boolean enabled) {
        for (LbpLayer l : layers.values()) {
            l.setLbpEnabled(enabled);
        }
    }

    private void applySelection(int epoch) {
        if (selectionByEpoch == null) {
            return;
        }
        BasisSelection s = selectionByEpoch.apply(epoch);
        if (s == null) {
            return;
        }
        for (LbpLayer l : layers.values()) {
            l.setConfig(l.getConfig().toBuilder().optSelection(s).build());
        }
        logger.info("LBP-WHT: epoch {} uses {}", epoch, s);
    }

    /**
     * Returns the layers scheduled, by path.
     *
     * @return the LBP-WHT layers ({@link LbpLayer}) found when training began
     */
    public Map<String, LbpLayer> getLayers() {
        return Collections.unmodifiableMap(layers);
    }

    /**
     * Returns the state: the position in the schedule and each layer's configuration and switch.
     *
     * @return the state as JSON
     */
    @Override
    public String getState() {
        JsonObject o = new JsonObject();
        o.addProperty("steps", steps);
        o.addProperty("epochs", epochs);
        JsonObject ls = new JsonObject();
        for (Map.Entry<String, LbpLayer> e : layers.entrySet()) {
            JsonObject l = new JsonObject();
            l.add("config", JsonParser.parseString(e.getValue().getConfig().toJson()));
            l.addProperty("enabled", e.getValue().isLbpEnabled());
            ls.add(e.getKey(), l);
        }
        o.add("layers", ls);
        return o.toString();
    }

    /**
     * Restores a state from {@link #getState()}.
     *
     * @param json the state
     * @throws IllegalArgumentException if it is not such a state or names layers the model does not
     *     have as LBP-WHT layers
     */
    @Override
    public void restoreState(String json) {
        JsonObject o = States.parse(json, "schedule");
        JsonObject ls;
        try {
            ls = States.get(o, "layers").getAsJsonObject();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException("not an LBP-WHT listener state: " + e.getMessage());
        }
        if (!ls.keySet().equals(layers.keySet())) {
            throw new IllegalArgumentException(
                    "LBP-WHT state has layers "
                            + ls.keySet()
                            + ", the model has "
                            + layers.keySet());
        }
        for (Map.Entry<String, LbpLayer> e : layers.entrySet()) {
            JsonObject l = ls.getAsJsonObject(e.getKey());
            e.getValue().setConfig(LbpConfig.fromJson(States.get(l, "config").toString()));
            e.getValue().setLbpEnabled(States.getBoolean(l, "enabled"));
        }
        steps = States.getInt(o, "steps");
        epochs = States.getInt(o, "epochs");
    }
}
