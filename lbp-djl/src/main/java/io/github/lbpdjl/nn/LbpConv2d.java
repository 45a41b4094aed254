package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.List;
import java.util.Objects;

/**
 * A 1x1 {@link Conv2d} whose backward is LBP-WHT: on an input (B, C_in, H, W) the H x W positions
 * are the tokens (no extra tokens), and in training the forward value is exact while the gradients
 * of the weight and the input come from the output gradient projected onto a few low-frequency 2-D
 * Walsh-Hadamard bases per patch of positions; the bias gradient stays exact. In inference, or with
 * LBP-WHT switched off, it is exactly Conv2d.
 *
 * <p>Kernel 1x1, stride 1, no groups, no dilation, no padding; same parameters ("weight" (C_out,
 * C_in, 1, 1), "bias") and .params format as Conv2d. The grid is the input's H x W unless the
 * configuration has a layout, which must then be that grid with no extra tokens. The training pass
 * runs the layer's map on the 2-D view (C_out, C_in) of the weight over the tokens (B, H*W, C_in),
 * as {@link LbpLinear} does, and releases its intermediates before it returns ({@link
 * Intermediates}).
 */
public class LbpConv2d extends Conv2d implements LbpLayer, AdaptedBlock {

    private final TokenwiseLbp lbp;
    private volatile String name;

    /**
     * Creates the layer from a builder.
     *
     * @param builder the builder
     */
    protected LbpConv2d(Builder builder) {
        super(builder);
        this.lbp = new TokenwiseLbp(builder.config);
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
     * Creates an LbpConv2d that takes over a 1x1 Conv2d: the same filters, bias and {@link
     * Parameter} objects (not copies), so trained weights, gradients, freezing and optimizer state
     * carry over and .params files stay compatible. An uninitialised Conv2d gives an uninitialised
     * LbpConv2d.
     *
     * @param conv the layer to take over
     * @param config the LBP-WHT configuration
     * @param name the layer's name or path (for error messages), or null
     * @return the new layer
     * @throws IllegalArgumentException if the Conv2d is not a plain 1x1 convolution
     */
    public static LbpConv2d from(Conv2d conv, LbpConfig config, String name) {
        LbpConv2d layer =
                builder()
                        .setFilters(conv.getFilters())
                        .setKernelShape(conv.getKernelShape())
                        .optStride(conv.getStride())
                        .optPadding(conv.getPadding())
                        .optDilation(conv.getDilation())
                        .optGroups(conv.getGroups())
                        .optBias(conv.isIncludeBias())
                        .optConfig(config)
                        .optName(name)
                        .build();
        Conv2dParameters.share(conv, layer);
        return layer;
    }

    /**
     * Whether a block is a Conv2d this layer can take over: kernel 1x1, stride 1, no groups, no
     * dilation, no padding.
     *
     * @param block a block
     * @return true if {@link #from} accepts it
     */
    public static boolean canTakeOver(Block block) {
        return block instanceof Conv2d
                && !(block instanceof AdaptedBlock)
                && Conv2dParameters.problem((Conv2d) block) == null;
    }

    /**
     * Says why a Conv2d cannot be taken over.
     *
     * @param conv the layer
     * @return its first setting that is not that of a 1x1 convolution, e.g. "kernel (3, 3)", or
     *     null if it can be taken over
     */
    public static String whyNot(Conv2d conv) {
        return Conv2dParameters.problem(conv);
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray input = inputs.singletonOrThrow();
        LbpConfig c = lbp.getConfig();
        if (training && lbp.isEnabled()) {
            return new NDList(forwardLbp(parameterStore, input, c));
        }
        NDList out = super.forwardInternal(parameterStore, inputs, training, params);
        if (training && lbp.probes().isArmed()) {
            return new NDList(probeExact(out.singletonOrThrow(), input, c));
        }
        return out;
    }

    private NDArray forwardLbp(ParameterStore parameterStore, NDArray input, LbpConfig c) {
        TokenLayout layout = layoutFor(input.getShape());
        Shape s = input.getShape();
        lbp.setLastTrainingShape(s);
        NDArray w = parameterStore.getValue(weight, input.getDevice(), true);
        NDArray b = bias == null ? null : parameterStore.getValue(bias, input.getDevice(), true);
        NDArray x = FeatureMaps.toTokens(input);
        // made from a parameter: else the model's manager would keep it until the model closes
        NDArray w2 = w.reshape(w.getShape().get(0), w.getShape().get(1));
        w2.attach(input.getManager());
        NDArray y = lbp.run(x, new LinearMap(x, b, w2, input.getManager()), w, layout, c);
        Intermediates.release(x, input, y);
        Intermediates.release(w2);
        NDArray out = FeatureMaps.toMap(y, s.get(2), s.get(3));
        Intermediates.release(y, out);
        return out;
    }

    /** Adds the gradient probe to an exact output (B, C_out, H, W), on its token rows. */
    private NDArray probeExact(NDArray y, NDArray input, LbpConfig c) {
        TokenLayout layout = layoutFor(input.getShape());
        Shape s = y.getShape();
        NDArray tokens = FeatureMaps.toTokens(y);
        // probeExact releases the token rows it was given
        NDArray probed = lbp.probeExact(tokens, input, weight.getArray(), layout, c);
        Intermediates.release(y, probed);
        NDArray out = FeatureMaps.toMap(probed, s.get(2), s.get(3));
        Intermediates.release(probed, out);
        return out;
    }

    /**
     * Returns the token layout of an input: its H x W grid, no extra tokens.
     *
     * @param inputShape the input shape (B, C_in, H, W)
     * @return the layout
     * @throws IllegalArgumentException naming the layer if the input is not 4-D with the weight's
     *     channels, or the configured layout is not that grid
     */
    public TokenLayout layoutFor(Shape inputShape) {
        Shape w = weight.getShape();
        long channels = w == null ? -1 : w.get(1);
        return TokenInputs.grid(describe(), inputShape, channels, lbp.getConfig());
    }

    /** {@inheritDoc} */
    @Override
    public BackwardFlops backwardFlops() {
        Shape s = lbp.getLastTrainingShape();
        if (s == null) {
            return null;
        }
        Shape w = weight.getShape();
        return BackwardFlops.of(layoutFor(s), lbp.getConfig(), w.get(1), w.get(0));
    }

    /** {@inheritDoc} */
    @Override
    public LbpConfig getConfig() {
        return lbp.getConfig();
    }

    /**
     * Replaces the LBP-WHT configuration, e.g. to change the selection during training.
     *
     * @param config the new configuration, not null
     */
    @Override
    public void setConfig(LbpConfig config) {
        lbp.setConfig(Objects.requireNonNull(config, "config"));
    }

    /** {@inheritDoc} */
    @Override
    public boolean isLbpEnabled() {
        return lbp.isEnabled();
    }

    /** {@inheritDoc} */
    @Override
    public void setLbpEnabled(boolean enabled) {
        lbp.setEnabled(enabled);
    }

    /** {@inheritDoc} */
    @Override
    public void armProbe() {
        lbp.probes().arm();
    }

    /** {@inheritDoc} */
    @Override
    public List<GradientProbe> takeGradientProbes() {
        return lbp.probes().take();
    }

    /** {@inheritDoc} */
    @Override
    public Shape getLastTrainingShape() {
        return lbp.getLastTrainingShape();
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
     * Returns a plain Conv2d with this layer's filters, bias and Parameter objects (not copies):
     * the undo of taking a Conv2d over.
     *
     * @return the Conv2d
     */
    @Override
    public Block toOriginal() {
        Conv2d conv =
                Conv2d.builder()
                        .setFilters(filters)
                        .setKernelShape(kernelShape)
                        .optBias(includeBias)
                        .build();
        Conv2dParameters.share(this, conv);
        return conv;
    }

    private String describe() {
        String n = name;
        return n != null ? "LbpConv2d '" + n + "'" : "LbpConv2d(" + lbp.getConfig() + ")";
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return describe();
    }

    /**
     * Builds an {@link LbpConv2d}: {@code setFilters} is required; the kernel is 1x1 unless set
     * otherwise, which {@link #build()} refuses.
     */
    public static class Builder extends Conv2d.Builder {

        private LbpConfig config = LbpConfig.builder().build();
        private String name;

        /** Creates a builder with a 1x1 kernel and the default configuration. */
        protected Builder() {
            kernelShape = new Shape(1, 1);
        }

        /** {@inheritDoc} */
        @Override
        protected Builder self() {
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public Builder setFilters(int filters) {
            super.setFilters(filters);
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public Builder optBias(boolean includeBias) {
            super.optBias(includeBias);
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public Builder setKernelShape(Shape kernelShape) {
            super.setKernelShape(kernelShape);
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public Builder optStride(Shape stride) {
            super.optStride(stride);
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public Builder optPadding(Shape padding) {
            super.optPadding(padding);
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public Builder optDilation(Shape dilation) {
            super.optDilation(dilation);
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public Builder optGroups(int groups) {
            super.optGroups(groups);
            return this;
        }

        /**
         * Sets the LBP-WHT configuration (default: p = 8, LP_L1-6, zero padding, the input's grid).
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
         * @throws IllegalArgumentException if the filters are not set or the convolution is not 1x1
         *     with stride 1, no groups, no dilation and no padding
         */
        @Override
        public LbpConv2d build() {
            String who = name == null ? "LbpConv2d" : "LbpConv2d '" + name + "'";
            if (filters <= 0) {
                throw new IllegalArgumentException(
                        who + ": setFilters must be > 0, got " + filters);
            }
            String problem =
                    Conv2dParameters.problem(kernelShape, stride, padding, dilation, groups);
            if (problem != null) {
                throw new IllegalArgumentException(
                        who
                                + ": "
                                + problem
                                + " is not supported; LBP-WHT takes only 1x1 convolutions with"
                                + " stride 1, no groups, no dilation and no padding");
            }
            return new LbpConv2d(this);
        }
    }
}
