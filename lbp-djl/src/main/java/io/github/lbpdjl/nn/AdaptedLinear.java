package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.List;

/**
 * A {@link Linear} taken over by a fine-tuning method, with LBP-WHT as its optional training
 * backward: the base of {@link LbpLinear} (the plain map {@code x W^T}) and of the LoRA layer
 * ({@code x W^T + s x A^T B^T}). It keeps Linear's parameters "weight" and "bias" (the same {@link
 * Parameter} objects as the Linear it replaced), a name for messages, the LBP-WHT configuration and
 * switch, the projection matrices between passes and the gradient probe; a subclass supplies only
 * its exact forward and its token-wise map.
 *
 * <p>In training with a configuration and LBP-WHT on, the forward value is exact and the gradients
 * of the map's parameters and of the input come from the output gradient projected onto a few
 * low-frequency 2-D Walsh-Hadamard bases per patch of tokens; the bias gradient and the gradients
 * of the extra tokens stay exact. Otherwise the layer runs its exact forward. Input is (B, N, C) or
 * has more leading axes; the token axis is the one before the last.
 */
public abstract class AdaptedLinear extends Linear implements AdaptedBlock {

    private final TokenwiseLbp lbp;
    private volatile String name;
    private volatile boolean inputChecked;

    /**
     * Creates the layer.
     *
     * @param builder the builder: units, bias, the LBP-WHT configuration (null for none), the name
     */
    protected AdaptedLinear(Builder<?> builder) {
        super(builder);
        this.lbp = new TokenwiseLbp(builder.config);
        this.name = builder.name;
    }

    /**
     * Runs the layer without LBP-WHT: inference, training with LBP-WHT off or not configured. By
     * default DJL's Linear forward on "weight" and "bias", {@code x W^T + b}.
     *
     * @param parameterStore the parameter store
     * @param input the input (..., C_in)
     * @param training whether this is a training pass
     * @param params optional parameters
     * @return the output
     */
    protected NDList forwardExact(
            ParameterStore parameterStore,
            NDArray input,
            boolean training,
            PairList<String, Object> params) {
        return super.forwardInternal(parameterStore, new NDList(input), training, params);
    }

    /**
     * Returns the token-wise map of one LBP-WHT training pass.
     *
     * @param parameterStore the parameter store
     * @param input the layer input as given
     * @param x the input as (L, N, C_in)
     * @param weight the base weight array of this pass (C_out, C_in)
     * @return the map, the array it runs on and the bias to add
     */
    protected abstract TokenwiseMap tokenwiseMap(
            ParameterStore parameterStore, NDArray input, NDArray x, NDArray weight);

    /**
     * Whether a training pass may use LBP-WHT now, given a configuration and LBP-WHT on; a subclass
     * says no in states where it must run exactly (a merged or switched-off adapter).
     *
     * @return true by default
     */
    protected boolean lbpApplies() {
        return true;
    }

    /** {@inheritDoc} */
    @Override
    protected final NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray input = inputs.singletonOrThrow();
        LbpConfig c = lbp.getConfig();
        if (c != null && !inputChecked) {
            // the first forward, inference too, says at once if LBP-WHT cannot train on this input
            checkInput(input.getShape());
            inputChecked = true;
        }
        if (training && c != null && lbp.isEnabled() && lbpApplies()) {
            return new NDList(forwardLbp(parameterStore, input, c));
        }
        NDList out = forwardExact(parameterStore, input, training, params);
        Shape shape = input.getShape();
        if (training && c != null && lbp.probes().isArmed() && shape.dimension() >= 3) {
            TokenLayout layout = layoutFor(shape.get(shape.dimension() - 2));
            NDArray weight = parameter("weight").getArray();
            return new NDList(lbp.probeExact(out.singletonOrThrow(), input, weight, layout, c));
        }
        return out;
    }

    private NDArray forwardLbp(ParameterStore parameterStore, NDArray input, LbpConfig c) {
        Shape shape = input.getShape();
        NDArray weight = parameterStore.getValue(parameter("weight"), input.getDevice(), true);
        long in = weight.getShape().get(1);
        TokenLayout layout = TokenInputs.layout(describe(), shape, in, c);
        lbp.setLastTrainingShape(shape);
        int d = shape.dimension();
        NDArray x = input.reshape(-1, shape.get(d - 2), in);
        NDArray y = lbp.run(x, tokenwiseMap(parameterStore, input, x, weight), weight, layout, c);
        Intermediates.release(x, input, y);
        NDArray out = y.reshape(shape.slice(0, d - 1).add(weight.getShape().get(0)));
        Intermediates.release(y, out);
        return out;
    }

    /**
     * Arms the gradient probe: the following training forward passes (until {@link
     * #takeGradientProbes()}) record this layer's output gradient gy, with LBP-WHT on or off.
     */
    public void armProbe() {
        lbp.probes().arm();
    }

    /**
     * Disarms the probe and returns what it recorded since {@link #armProbe()}, one probe per
     * training forward pass.
     *
     * @return the probes, possibly none
     */
    public List<GradientProbe> takeGradientProbes() {
        return lbp.probes().take();
    }

    /**
     * Returns the shape of the last input seen in training with LBP-WHT on, for statistics.
     *
     * @return the shape, or null if none yet
     */
    public Shape getLastTrainingShape() {
        return lbp.getLastTrainingShape();
    }

    /**
     * Returns the backward FLOPs per sample of the last training input, with LBP-WHT as configured
     * now (whether or not it is switched on) and with full backprop.
     *
     * @return the counts, or null if no training input was seen yet or there is no configuration
     */
    public BackwardFlops backwardFlops() {
        Shape s = lbp.getLastTrainingShape();
        LbpConfig c = lbp.getConfig();
        if (s == null || c == null) {
            return null;
        }
        Shape w = parameter("weight").getShape();
        return BackwardFlops.of(layoutFor(s.get(s.dimension() - 2)), c, w.get(1), w.get(0));
    }

    /**
     * Checks that LBP-WHT can train this layer on an input of a shape and returns the token layout
     * it would use: (batch, tokens, features) or more leading axes, the weight's features, and a
     * token count that fits the configured layout (or E + a square grid without one).
     *
     * @param inputShape the shape of the layer's input
     * @return the layout
     * @throws IllegalArgumentException naming the layer, the shape and what it needs
     * @throws IllegalStateException if the layer has no LBP-WHT configuration
     */
    public TokenLayout checkInput(Shape inputShape) {
        LbpConfig c = lbp.getConfig();
        if (c == null) {
            throw new IllegalStateException(describe() + " has no LBP-WHT configuration");
        }
        return TokenInputs.layout(describe(), inputShape, parameter("weight").getShape().get(1), c);
    }

    /**
     * Returns the token layout this layer uses for {@code tokens} tokens: the configured one, or E
     * extra tokens + a square grid.
     *
     * @param tokens the number of tokens
     * @return the layout
     * @throws IllegalArgumentException if the configured layout does not have that many tokens or
     *     none can be inferred
     */
    public TokenLayout layoutFor(long tokens) {
        return checkInput(new Shape(1, tokens, parameter("weight").getShape().get(1)));
    }

    /**
     * Returns the parameter of this layer under a name.
     *
     * @param key "weight", "bias" or a subclass's parameter name
     * @return the parameter, or null if the layer has none of that name
     */
    protected final Parameter parameter(String key) {
        return parameters.get(key);
    }

    /**
     * Returns the LBP-WHT configuration.
     *
     * @return the configuration, or null if the layer trains without LBP-WHT
     */
    public LbpConfig getConfig() {
        return lbp.getConfig();
    }

    /**
     * Replaces the LBP-WHT configuration, e.g. to change the rank during training.
     *
     * @param config the new configuration, or null for none
     */
    public void setConfig(LbpConfig config) {
        lbp.setConfig(config);
        inputChecked = false;
    }

    /**
     * Returns whether a configured LBP-WHT is used in training.
     *
     * @return true unless switched off
     */
    public boolean isLbpEnabled() {
        return lbp.isEnabled();
    }

    /**
     * Switches a configured LBP-WHT on or off for this layer; off, training uses exact backprop.
     *
     * @param lbpEnabled whether to use LBP-WHT in training
     */
    public void setLbpEnabled(boolean lbpEnabled) {
        lbp.setEnabled(lbpEnabled);
    }

    /**
     * Returns the name used in messages.
     *
     * @return the layer's name or path, or null
     */
    public String getName() {
        return name;
    }

    /**
     * Sets the name used in messages, e.g. its path in the model.
     *
     * @param name the name
     */
    public void setName(String name) {
        this.name = name;
    }

    /**
     * Describes the layer for messages: its kind and name, e.g. {@code LbpLinear 'blocks.0.fc1'}.
     *
     * @return the description
     */
    protected String describe() {
        String n = name;
        String kind = getClass().getSimpleName();
        return n != null ? kind + " '" + n + "'" : kind + "(" + lbp.getConfig() + ")";
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return describe();
    }

    /**
     * Returns a plain Linear with this layer's units, bias and base Parameter objects (not copies):
     * the undo of taking a Linear over. What the subclass added (an adapter) is dropped.
     *
     * @return the Linear
     */
    public Linear toLinear() {
        return LinearParameters.plain(this);
    }

    /** {@inheritDoc} */
    @Override
    public Block toOriginal() {
        return toLinear();
    }

    /**
     * Returns the output units of a Linear.
     *
     * @param linear the layer
     * @return its units
     */
    protected static long unitsOf(Linear linear) {
        return LinearParameters.units(linear);
    }

    /**
     * Makes {@code to} use the "weight" and "bias" Parameter objects of {@code from} (same arrays,
     * gradients and optimizer state), initialised as in {@code from}.
     *
     * @param from the layer whose parameters are shared
     * @param to the layer that takes them
     */
    protected static void shareParameters(Linear from, Linear to) {
        LinearParameters.share(from, to);
    }

    /**
     * What the builders of adapted layers share: Linear's units and bias, the LBP-WHT configuration
     * and the name used in messages.
     *
     * @param <T> the concrete builder
     */
    public abstract static class Builder<T extends Builder<T>> extends Linear.Builder {

        /** The LBP-WHT configuration, or null for none. */
        protected LbpConfig config;

        /** The name for messages, or null. */
        protected String name;

        /** Creates a builder. */
        protected Builder() {}

        /**
         * Returns this builder as its concrete type.
         *
         * @return this
         */
        protected abstract T self();

        /** {@inheritDoc} */
        @Override
        public T setUnits(long units) {
            super.setUnits(units);
            return self();
        }

        /** {@inheritDoc} */
        @Override
        public T optBias(boolean bias) {
            super.optBias(bias);
            return self();
        }

        /**
         * Sets the LBP-WHT configuration of the training forward.
         *
         * @param config the configuration
         * @return this builder
         */
        public T optConfig(LbpConfig config) {
            this.config = config;
            return self();
        }

        /**
         * Sets the name used in error messages.
         *
         * @param name the layer's name or path
         * @return this builder
         */
        public T optName(String name) {
            this.name = name;
            return self();
        }

        /**
         * Returns the units set so far.
         *
         * @return the units, 0 if not set
         */
        public long getUnits() {
            return units;
        }

        /**
         * Validates and builds the layer.
         *
         * @return the layer
         */
        @Override
        public abstract AdaptedLinear build();
    }
}
