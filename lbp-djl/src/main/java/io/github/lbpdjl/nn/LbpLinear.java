package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.engine.LbpEngines;
import io.github.lbpdjl.engine.ProjectionArrays;
import io.github.lbpdjl.engine.ProjectionCache;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.Objects;

/**
 * A {@link Linear} layer whose backward pass is LBP-WHT: in training the forward value is exact and
 * the gradients of the weight and the input come from the gradient projected onto a few
 * low-frequency 2-D Walsh-Hadamard bases per patch of tokens; the bias gradient and the gradient of
 * the extra tokens stay exact. In inference it is exactly Linear.
 *
 * <p>Same parameter names ("weight", "bias") and .params format as Linear, so a Linear's weights
 * load into it. Input is (B, N, C) or has more leading axes; the token axis is the one before the
 * last. LBP-WHT can be switched off for a layer at run time with {@link #setLbpEnabled(boolean)}.
 *
 * <p>The training forward releases its intermediates before it returns ({@link
 * io.github.lbpdjl.ndarray.Intermediates}), so that what stays alive until backward is what
 * autograd keeps: the projected coefficients of the input, not the input.
 */
public class LbpLinear extends Linear {

    private volatile LbpConfig config;
    private volatile boolean lbpEnabled = true;
    private volatile String name;
    private volatile boolean probeArmed;
    private volatile Shape lastTrainingShape;
    private final java.util.List<NDArray[]> probes =
            new java.util.concurrent.CopyOnWriteArrayList<>();
    private final ProjectionCache projectionCache = new ProjectionCache();

    /**
     * Creates the layer from a builder.
     *
     * @param builder the builder
     */
    protected LbpLinear(Builder builder) {
        super(builder);
        this.config = builder.config;
        this.name = builder.name;
    }

    /**
     * Creates a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Creates an LbpLinear that takes over a Linear layer: the same units, bias and {@link
     * Parameter} objects (not copies), so trained weights, gradients, freezing and optimizer state
     * carry over and .params files stay compatible. An uninitialised Linear gives an uninitialised
     * LbpLinear.
     *
     * @param linear the layer to take over
     * @param config the LBP-WHT configuration
     * @param name the layer's name or path (for error messages), or null
     * @return the new layer
     */
    public static LbpLinear from(Linear linear, LbpConfig config, String name) {
        LbpLinear lbp =
                builder()
                        .setUnits(LinearLayers.units(linear))
                        .optBias(linear.getParameters().contains("bias"))
                        .optConfig(config)
                        .optName(name)
                        .build();
        LinearLayers.shareParameters(linear, lbp);
        return lbp;
    }

    /**
     * Returns a plain Linear with this layer's units, bias and Parameter objects (not copies): the
     * undo of {@link #from(Linear, LbpConfig, String)}.
     *
     * @return the Linear
     */
    public Linear toLinear() {
        Linear linear =
                Linear.builder()
                        .setUnits(LinearLayers.units(this))
                        .optBias(getParameters().contains("bias"))
                        .build();
        LinearLayers.shareParameters(this, linear);
        return linear;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        if (!training) {
            return super.forwardInternal(parameterStore, inputs, training, params);
        }
        NDArray input = inputs.singletonOrThrow();
        Shape shape = input.getShape();
        if (!lbpEnabled) {
            NDList out = super.forwardInternal(parameterStore, inputs, training, params);
            if (!probeArmed || shape.dimension() < 3) {
                return out;
            }
            TokenLayout layout = layoutFor(shape.get(shape.dimension() - 2));
            NDArray y = out.singletonOrThrow();
            long units = y.getShape().get(y.getShape().dimension() - 1);
            NDArray y3 = y.reshape(-1, shape.get(shape.dimension() - 2), units);
            ProjectionArrays arrays =
                    projectionArrays(layout, input, parameter("weight").getArray());
            NDArray probed = probe(y3, arrays);
            NDArray result = probed.reshape(y.getShape());
            Intermediates.release(probed, result);
            Intermediates.release(y3, result);
            Intermediates.release(y, result);
            return new NDList(result);
        }
        NDArray weight = parameterStore.getValue(parameter("weight"), input.getDevice(), true);
        Parameter biasParam = parameter("bias");
        NDArray bias =
                biasParam == null
                        ? null
                        : parameterStore.getValue(biasParam, input.getDevice(), true);
        TokenLayout layout = checkInput(shape, weight.getShape().get(1));
        lastTrainingShape = shape;
        int d = shape.dimension();
        NDArray x = input.reshape(-1, shape.get(d - 2), shape.get(d - 1));
        ProjectionArrays arrays = projectionArrays(layout, input, weight);
        Weights w = new Weights(weight, input.getManager());
        NDArray y =
                LbpEngines.forEngine(input.getManager().getEngine().getEngineName())
                        .forward(x, w, bias, arrays);
        boolean probed = probeArmed;
        if (probed) {
            NDArray withProbe = probe(y, arrays);
            Intermediates.release(y, withProbe);
            y = withProbe;
        }
        // autograd keeps what backward needs; DJL need not keep the rest until the batch ends
        Intermediates.release(w.frozen);
        Intermediates.release(x, input, y);
        NDArray out = y.reshape(shape.slice(0, d - 1).add(weight.getShape().get(0)));
        Intermediates.release(y, out);
        return new NDList(out);
    }

    private ProjectionArrays projectionArrays(TokenLayout layout, NDArray input, NDArray weight) {
        return LinearLayers.projectionArrays(projectionCache, config, layout, input, weight);
    }

    /** Adds a zero leaf to y (L, N, C_out): after backward its gradient is this layer's gy. */
    private NDArray probe(NDArray y, ProjectionArrays arrays) {
        NDArray probe = y.getManager().zeros(y.getShape(), y.getDataType());
        probe.setRequiresGradient(true);
        NDArray q =
                arrays.getGather()
                        .duplicate(); // the cached Q may be replaced before the probe is read
        q.attach(y.getManager());
        probes.add(new NDArray[] {probe, q});
        return y.add(probe);
    }

    /**
     * Arms the gradient probe: the following training forward passes (until {@link #takeProbes()})
     * record this layer's output gradient gy for statistics, with LBP-WHT on or off.
     */
    public void armProbe() {
        probeArmed = true;
    }

    /**
     * Disarms the probe and returns what it recorded since {@link #armProbe()}: per forward pass,
     * the probe array (its gradient is gy, shape (L, N, C_out), after backward) and the matrix Q
     * (M, N) of the projection used.
     *
     * @return the recordings, possibly empty
     */
    public java.util.List<NDArray[]> takeProbes() {
        probeArmed = false;
        java.util.List<NDArray[]> out = new java.util.ArrayList<>(probes);
        probes.clear();
        return out;
    }

    private Parameter parameter(String key) {
        return parameters.get(key);
    }

    /**
     * Returns the shape of the last input seen in training with LBP-WHT on, for statistics.
     *
     * @return the shape, or null if none yet
     */
    public Shape getLastTrainingShape() {
        return lastTrainingShape;
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
        return checkInput(new Shape(1, tokens, inputFeatures()), inputFeatures());
    }

    private long inputFeatures() {
        return parameter("weight").getShape().get(1);
    }

    /**
     * Checks a training input and returns its token layout.
     *
     * @param shape the input shape
     * @param features the input features the weight expects
     * @return the layout of its token axis
     * @throws IllegalArgumentException naming the layer, the shape and what it needs
     */
    TokenLayout checkInput(Shape shape, long features) {
        return LinearLayers.checkInput(describe(), shape, features, config);
    }

    private String describe() {
        String n = name;
        return n != null ? "LbpLinear '" + n + "'" : "LbpLinear(" + config + ")";
    }

    /**
     * @return the LBP-WHT configuration
     */
    public LbpConfig getConfig() {
        return config;
    }

    /**
     * Replaces the LBP-WHT configuration, e.g. to change the rank during training.
     *
     * @param config the new configuration
     */
    public void setConfig(LbpConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /**
     * @return whether training uses LBP-WHT (true) or full backprop (false)
     */
    public boolean isLbpEnabled() {
        return lbpEnabled;
    }

    /**
     * Switches LBP-WHT on or off for this layer; off, training is exactly Linear.
     *
     * @param lbpEnabled whether to use LBP-WHT in training
     */
    public void setLbpEnabled(boolean lbpEnabled) {
        this.lbpEnabled = lbpEnabled;
    }

    /**
     * @return the layer's name used in error messages, or null
     */
    public String getName() {
        return name;
    }

    /**
     * Sets the name used in error messages, e.g. its path in the model.
     *
     * @param name the name
     */
    public void setName(String name) {
        this.name = name;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return describe();
    }

    /**
     * The plain linear map x W^T of this layer. The detached weight belongs to the forward pass's
     * manager: an array made from a parameter belongs to the model's manager, which lives until the
     * model closes (one leaked array per layer per step).
     */
    private static final class Weights implements TokenwiseLinear {
        private final NDArray weight;
        private final NDArray frozen;

        Weights(NDArray weight, NDManager manager) {
            this.weight = weight;
            this.frozen = weight.stopGradient();
            frozen.attach(manager);
        }

        @Override
        public NDArray apply(NDArray x) {
            return Linear.linear(x, weight).singletonOrThrow();
        }

        @Override
        public NDArray applyFrozen(NDArray x, NDArray bias) {
            return Linear.linear(x, frozen, bias).singletonOrThrow();
        }
    }

    /** Builds an {@link LbpLinear}: {@code setUnits} is required. */
    public static class Builder extends Linear.Builder {

        private LbpConfig config = LbpConfig.builder().build();
        private String name;

        /** Creates a builder with the default configuration. */
        protected Builder() {}

        /** {@inheritDoc} */
        @Override
        public Builder setUnits(long units) {
            super.setUnits(units);
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public Builder optBias(boolean bias) {
            super.optBias(bias);
            return this;
        }

        /**
         * Sets the LBP-WHT configuration (default: p = 8, LP_L1-6, zero padding, inferred layout).
         *
         * @param config the configuration
         * @return this builder
         */
        public Builder optConfig(LbpConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /**
         * Sets the name used in error messages.
         *
         * @param name the layer's name or path
         * @return this builder
         */
        public Builder optName(String name) {
            this.name = name;
            return this;
        }

        /**
         * Builds the layer.
         *
         * @return the layer
         * @throws IllegalArgumentException if the units are not set
         */
        @Override
        public LbpLinear build() {
            if (units <= 0) {
                throw new IllegalArgumentException("LbpLinear: setUnits must be > 0, got " + units);
            }
            return new LbpLinear(this);
        }
    }
}
