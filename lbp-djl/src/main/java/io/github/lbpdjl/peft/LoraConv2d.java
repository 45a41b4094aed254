package io.github.lbpdjl.peft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Scalars;
import io.github.lbpdjl.nn.AdaptedBlock;
import io.github.lbpdjl.nn.Conv2dParameters;
import java.util.Locale;

/**
 * A LoRA-adapted {@link Conv2d}, as PEFT's LoRA Conv2d: {@code y = conv(x, W0) + b + s *
 * conv1x1(conv(dropout(x), A), B)} with the base weight W0 and bias b frozen (never
 * differentiated), A (r x in x kh x kw, parameter "lora_A") a convolution with the base's kernel,
 * stride, padding and dilation, B (out x r x 1 x 1, parameter "lora_B") a 1x1 convolution, scaling
 * s = alpha / r, or alpha / sqrt(r) with rsLoRA. A is initialised as PEFT does (Kaiming-uniform, a
 * = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in x kh x kw), B is zero, so a new layer
 * computes its base. Groups 1 only. No LBP-WHT inside: the convolutions LoRA meets here (a ViT's
 * patch embedding) are not token-wise.
 *
 * <p>{@link #merge()} adds {@code s (B A)} (as out x in x kh x kw) to W0; {@link #unmerge()} takes
 * it out again. A merged layer refuses training forwards.
 */
public class LoraConv2d extends Conv2d implements AdaptedBlock {

    private final int rank;
    private final float alpha;
    private final float dropout;
    private final boolean rslora;
    private final String name;
    private final Parameter loraA;
    private final Parameter loraB;
    private volatile boolean merged;

    /** Creates the layer from its builder. */
    protected LoraConv2d(Builder builder) {
        super(builder);
        this.rank = builder.rank;
        this.alpha = builder.alpha;
        this.dropout = builder.dropout;
        this.rslora = builder.rslora;
        this.name = builder.name;
        loraA = addParameter(adapterParameter(LoraLinear.LORA_A, new KaimingUniformSqrt5()));
        loraB = addParameter(adapterParameter(LoraLinear.LORA_B, Initializer.ZEROS));
    }

    private static Parameter adapterParameter(String name, Initializer initializer) {
        return Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.OTHER)
                .optInitializer(initializer)
                .build();
    }

    /**
     * Creates a LoraConv2d around a Conv2d: the same filters, kernel, stride, padding, dilation,
     * bias and "weight"/"bias" {@link Parameter} objects (not copies); A and B are new and
     * initialised if the Conv2d is.
     *
     * @param conv the base layer
     * @param rank the rank r, at least 1
     * @param alpha LoRA alpha, &gt; 0
     * @param rslora whether the scaling is alpha / sqrt(r) instead of alpha / r
     * @param dropout the dropout rate on the adapter input, in [0, 1)
     * @param name the layer's path (for messages), or null
     * @return the new layer
     * @throws IllegalArgumentException naming the layer for groups other than 1 or a bad rank,
     *     alpha or dropout
     */
    public static LoraConv2d from(
            Conv2d conv, int rank, float alpha, boolean rslora, float dropout, String name) {
        if (conv.getGroups() != 1) {
            throw new IllegalArgumentException(
                    LoraPatterns.layer(name)
                            + ": a Conv2d with groups "
                            + conv.getGroups()
                            + ", which LoRA adapts here only with groups 1");
        }
        LoraPatterns.checkHyperparameters(name, rank, alpha, dropout);
        Builder b = new Builder();
        b.setFilters(conv.getFilters())
                .setKernelShape(conv.getKernelShape())
                .optStride(conv.getStride())
                .optPadding(conv.getPadding())
                .optDilation(conv.getDilation())
                .optBias(conv.isIncludeBias());
        b.rank = rank;
        b.alpha = alpha;
        b.rslora = rslora;
        b.dropout = dropout;
        b.name = name;
        LoraConv2d layer = new LoraConv2d(b);
        Conv2dParameters.share(conv, layer);
        return layer;
    }

    /** {@inheritDoc} */
    @Override
    protected void prepare(Shape[] inputShapes) {
        if (!weight.isInitialized()) {
            super.prepare(inputShapes);
        }
        long in = inputShapes[0].get(1);
        if (!loraA.isInitialized()) {
            loraA.setShape(new Shape(rank, in, kernelShape.get(0), kernelShape.get(1)));
        }
        if (!loraB.isInitialized()) {
            loraB.setShape(new Shape(filters, rank, 1, 1));
        }
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Device device = x.getDevice();
        NDArray w = parameterStore.getValue(weight, device, training);
        NDArray b = bias == null ? null : parameterStore.getValue(bias, device, training);
        if (merged) {
            if (training) {
                throw new IllegalStateException(
                        describe() + " is merged: call unmerge() before training");
            }
            return Conv2d.conv2d(x, w, b, stride, padding, dilation, 1);
        }
        w = LoraMap.detached(w, x.getManager());
        b = b == null ? null : LoraMap.detached(b, x.getManager());
        NDArray base = Conv2d.conv2d(x, w, b, stride, padding, dilation, 1).singletonOrThrow();
        NDArray a = parameterStore.getValue(loraA, device, training);
        NDArray bb = parameterStore.getValue(loraB, device, training);
        NDArray xd =
                training && dropout > 0 ? Dropout.dropout(x, dropout, true).singletonOrThrow() : x;
        NDArray down = Conv2d.conv2d(xd, a, null, stride, padding, dilation, 1).singletonOrThrow();
        NDArray scaled = Scalars.mul(down, getScaling());
        NDArray up = Conv2d.conv2d(scaled, bb).singletonOrThrow();
        return new NDList(base.add(up));
    }

    /**
     * Adds {@code s B A} to the base weight in place, so that inference is one plain convolution.
     *
     * @throws IllegalStateException if already merged or not initialised
     */
    public void merge() {
        setMerged(true);
    }

    /**
     * Subtracts {@code s B A} from the base weight again.
     *
     * @throws IllegalStateException if not merged
     */
    public void unmerge() {
        setMerged(false);
    }

    private void setMerged(boolean merge) {
        if (merged == merge) {
            throw new IllegalStateException(
                    describe() + (merge ? " is already merged" : " is not merged"));
        }
        if (!weight.isInitialized() || !loraA.isInitialized()) {
            throw new IllegalStateException(describe() + " is not initialised");
        }
        NDArray w = weight.getArray();
        NDArray a = loraA.getArray().stopGradient();
        NDArray b = loraB.getArray().stopGradient();
        NDArray a2 = a.reshape(rank, -1);
        NDArray b2 = b.reshape(filters, rank);
        NDArray flat = LoraMap.deltaWeight(a2, b2, (merge ? 1 : -1) * getScaling());
        NDArray delta = flat.reshape(w.getShape());
        boolean grad = w.hasGradient();
        if (grad) {
            w.setRequiresGradient(false);
        }
        w.addi(delta);
        if (grad) {
            w.setRequiresGradient(true);
        }
        for (NDArray t : new NDArray[] {a, b, a2, b2, flat, delta}) {
            t.close();
        }
        merged = merge;
    }

    /** Returns whether s B A is folded into the base weight. */
    public boolean isMerged() {
        return merged;
    }

    /** Returns the rank r. */
    public int getRank() {
        return rank;
    }

    /** Returns LoRA alpha. */
    public float getAlpha() {
        return alpha;
    }

    /** Returns the scaling: alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public float getScaling() {
        return LoraPatterns.scaling(rank, alpha, rslora);
    }

    /** Returns the dropout rate on the adapter input in training. */
    public float getDropout() {
        return dropout;
    }

    /** Returns the parameter A (r x in x kh x kw). */
    public Parameter getLoraA() {
        return loraA;
    }

    /** Returns the parameter B (out x r x 1 x 1). */
    public Parameter getLoraB() {
        return loraB;
    }

    /**
     * Returns a plain Conv2d with the base Parameter objects; A and B are dropped.
     *
     * @return the Conv2d
     */
    @Override
    public Block toOriginal() {
        Conv2d conv =
                Conv2d.builder()
                        .setFilters(filters)
                        .setKernelShape(kernelShape)
                        .optStride(stride)
                        .optPadding(padding)
                        .optDilation(dilation)
                        .optBias(includeBias)
                        .build();
        Conv2dParameters.share(this, conv);
        return conv;
    }

    private String describe() {
        return (name != null ? "LoraConv2d '" + name + "'" : "LoraConv2d")
                + String.format(
                        Locale.ROOT, "(r=%d, alpha=%s%s)", rank, alpha, rslora ? ", rslora" : "");
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return describe();
    }

    /** Builds a {@link LoraConv2d}; use {@link LoraConv2d#from}. */
    public static class Builder extends Conv2d.Builder {

        private int rank = 8;
        private float alpha = 8;
        private float dropout;
        private boolean rslora;
        private String name;

        /** Creates a builder. */
        protected Builder() {}

        /** {@inheritDoc} */
        @Override
        protected Builder self() {
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public LoraConv2d build() {
            return new LoraConv2d(this);
        }
    }
}
