package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.LbpConfig;
import java.util.ArrayList;
import java.util.List;
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
public class LbpLinear extends AdaptedLinear implements LbpLayer {

    /**
     * Creates the layer from a builder.
     *
     * @param builder the builder
     */
    protected LbpLinear(Builder builder) {
        super(builder);
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
                        .setUnits(unitsOf(linear))
                        .optBias(linear.getParameters().contains("bias"))
                        .optConfig(config)
                        .optName(name)
                        .build();
        shareParameters(linear, lbp);
        return lbp;
    }

    /** {@inheritDoc} */
    @Override
    protected TokenwiseMap tokenwiseMap(
            ParameterStore parameterStore, NDArray input, NDArray x, NDArray weight) {
        Parameter biasParam = parameter("bias");
        NDArray bias =
                biasParam == null
                        ? null
                        : parameterStore.getValue(biasParam, input.getDevice(), true);
        return new LinearMap(x, bias, weight, input.getManager());
    }

    /**
     * Replaces the LBP-WHT configuration, e.g. to change the rank during training.
     *
     * @param config the new configuration, not null
     */
    @Override
    public void setConfig(LbpConfig config) {
        super.setConfig(Objects.requireNonNull(config, "config"));
    }

    /**
     * Disarms the probe and returns what it recorded, as pairs {probe leaf, Q}.
     *
     * @return the recordings, possibly empty
     * @deprecated use {@link #takeGradientProbes()}, which returns typed probes
     */
    @Deprecated
    public List<NDArray[]> takeProbes() {
        List<NDArray[]> out = new ArrayList<>();
        for (GradientProbe p : takeGradientProbes()) {
            out.add(new NDArray[] {p.getLeaf(), p.getGather()});
        }
        return out;
    }

    /** Builds an {@link LbpLinear}: {@code setUnits} is required. */
    public static class Builder extends AdaptedLinear.Builder<Builder> {

        /** Creates a builder with the default configuration. */
        protected Builder() {
            config = LbpConfig.builder().build();
        }

        /** {@inheritDoc} */
        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets the LBP-WHT configuration (default: p = 8, LP_L1-6, zero padding, inferred layout).
         *
         * @param config the configuration
         * @return this builder
         */
        @Override
        public Builder optConfig(LbpConfig config) {
            return super.optConfig(Objects.requireNonNull(config, "config"));
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
