package io.github.lbpdjl.peft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.nn.AdaptedLinear;
import io.github.lbpdjl.nn.TokenwiseMap;
import java.util.Locale;

/**
 * A LoRA-adapted {@link Linear}: {@code y = x W0^T + b + s * (dropout(x) A^T) B^T} with the base
 * weight W0 and bias b frozen (never differentiated), trainable {@code A} (r x in, parameter
 * "lora_A") and {@code B} (out x r, parameter "lora_B"), scaling {@code s = alpha / r}, or {@code
 * alpha / sqrt(r)} with rsLoRA (PEFT's use_rslora).
 *
 * <p>A is initialised like PEFT's default: Kaiming-uniform with a = sqrt(5), i.e. uniform in
 * [-1/sqrt(in), 1/sqrt(in)]; B is zero, so a new layer computes exactly its base Linear. The
 * parameters have type {@link Parameter.Type#OTHER} so that a model-wide {@code setInitializer(...,
 * Type.WEIGHT)} does not overwrite B's zeros. The base keeps Linear's parameter names "weight" and
 * "bias"; .params files hold them followed by lora_A and lora_B.
 *
 * <p>With an {@link LbpConfig} the training forward runs through LBP-WHT: the whole LoRA map is
 * token-wise linear, so A, B and the input get the gradients of the projected output gradient while
 * the output value, dropout included, stays exact.
 *
 * <p>{@link #merge()} folds {@code s B A} into W0 for inference; {@link #unmerge()} takes it out
 * again. A merged layer refuses training forwards.
 */
public class LoraLinear extends AdaptedLinear {

    /** Parameter name of A (r x in). */
    public static final String LORA_A = "lora_A";

    /** Parameter name of B (out x r). */
    public static final String LORA_B = "lora_B";

    private final long units;
    private final int rank;
    private final float alpha;
    private final float dropout;
    private final boolean rslora;
    private final Parameter loraA;
    private final Parameter loraB;
    private volatile boolean adapterEnabled = true;
    private volatile boolean merged;

    /** Creates the layer from its builder. */
    protected LoraLinear(Builder builder) {
        super(builder);
        this.units = builder.getUnits();
        this.rank = builder.rank;
        this.alpha = builder.alpha;
        this.dropout = builder.dropout;
        this.rslora = builder.rslora;
        loraA = addParameter(adapterParameter(LORA_A, new KaimingUniformSqrt5()));
        loraB = addParameter(adapterParameter(LORA_B, Initializer.ZEROS));
    }

    private static Parameter adapterParameter(String name, Initializer initializer) {
        return Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.OTHER)
                .optInitializer(initializer)
                .build();
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
     * Creates a LoraLinear around a Linear: the same units, bias and "weight"/"bias" {@link
     * Parameter} objects (not copies); A and B are new and initialised if the Linear is.
     *
     * @param linear the base layer
     * @param rank the rank r, at least 1
     * @param alpha the LoRA alpha, &gt; 0 (scaling alpha / r)
     * @param dropout the dropout rate on the adapter input, in [0, 1)
     * @param lbp the LBP-WHT configuration of the training forward, or null for plain LoRA
     * @param name the layer's path (for error messages), or null
     * @return the new layer
     * @throws IllegalArgumentException for a bad rank, alpha or dropout, naming the layer
     */
    public static LoraLinear from(
            Linear linear, int rank, float alpha, float dropout, LbpConfig lbp, String name) {
        return from(linear, rank, alpha, false, dropout, lbp, name);
    }

    /** As the public from, with rsLoRA's scaling alpha / sqrt(r) if {@code rslora}. */
    static LoraLinear from(
            Linear linear,
            int rank,
            float alpha,
            boolean rslora,
            float dropout,
            LbpConfig lbp,
            String name) {
        LoraLinear lora =
                builder()
                        .setUnits(unitsOf(linear))
                        .optBias(linear.getParameters().contains("bias"))
                        .optRank(rank)
                        .optAlpha(alpha)
                        .optUseRslora(rslora)
                        .optDropout(dropout)
                        .optConfig(lbp)
                        .optName(name)
                        .build();
        shareParameters(linear, lora);
        return lora;
    }

    /** {@inheritDoc} */
    @Override
    public void prepare(Shape[] inputShapes) {
        if (!getParameters().get("weight").isInitialized()) {
            super.prepare(inputShapes);
        }
        Shape input = inputShapes[0];
        long in = input.get(input.dimension() - 1);
        if (!loraA.isInitialized()) {
            loraA.setShape(new Shape(rank, in));
        }
        if (!loraB.isInitialized()) {
            loraB.setShape(new Shape(units, rank));
        }
    }

    /** {@inheritDoc} */
    @Override
    protected boolean lbpApplies() {
        return adapterEnabled && !merged;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardExact(
            ParameterStore parameterStore,
            NDArray input,
            boolean training,
            PairList<String, Object> params) {
        Device device = input.getDevice();
        NDArray weight = parameterStore.getValue(parameter("weight"), device, training);
        LoraMap.checkFeatures(describe(), input.getShape(), weight);
        NDArray b = frozenBias(parameterStore, input, training);
        if (merged) {
            if (training) {
                throw new IllegalStateException(
                        describe() + " is merged: call unmerge() before training");
            }
            return Linear.linear(input, weight, b);
        }
        NDArray w = LoraMap.detached(weight, input.getManager());
        if (!adapterEnabled) {
            return Linear.linear(input, w, b);
        }
        NDArray a = parameterStore.getValue(loraA, device, training);
        NDArray bb = parameterStore.getValue(loraB, device, training);
        NDArray xd =
                training && dropout > 0
                        ? Dropout.dropout(input, dropout, true).singletonOrThrow()
                        : input;
        return new NDList(LoraMap.adapted(input, xd, w, b, a, bb, getScaling()));
    }

    /** {@inheritDoc} */
    @Override
    protected TokenwiseMap tokenwiseMap(
            ParameterStore parameterStore, NDArray input, NDArray x, NDArray weight) {
        Device device = input.getDevice();
        NDArray w = LoraMap.detached(weight, input.getManager());
        NDArray b = frozenBias(parameterStore, input, true);
        NDArray a = parameterStore.getValue(loraA, device, true);
        NDArray bb = parameterStore.getValue(loraB, device, true);
        return LoraMap.create(input, x, b, w, a, bb, getScaling(), dropout);
    }

    /** The base bias of a pass, detached: LoRA trains only the adapter. */
    private NDArray frozenBias(ParameterStore parameterStore, NDArray input, boolean training) {
        Parameter p = parameter("bias");
        return p == null
                ? null
                : LoraMap.detached(
                        parameterStore.getValue(p, input.getDevice(), training),
                        input.getManager());
    }

    /**
     * Adds {@code s B A} to the base weight in place, so that inference is one plain Linear. Exact
     * to float rounding. A merged layer refuses training forwards.
     *
     * @throws IllegalStateException if already merged or not initialised
     */
    public void merge() {
        setMerged(true);
    }

    /**
     * Subtracts {@code s B A} from the base weight again (exact to float rounding).
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
        Parameter weight = parameter("weight");
        if (!weight.isInitialized() || !loraA.isInitialized()) {
            throw new IllegalStateException(describe() + " is not initialised");
        }
        LoraMap.addDelta(weight.getArray(), loraA, loraB, (merge ? 1 : -1) * getScaling());
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

    /** Returns whether the scaling is rsLoRA's alpha / sqrt(r). */
    public boolean isUseRslora() {
        return rslora;
    }

    /** Returns the dropout rate on the adapter input in training. */
    public float getDropout() {
        return dropout;
    }

    /** Returns the units (output features). */
    public long getUnits() {
        return units;
    }

    /** Returns the parameter A (r x in). */
    public Parameter getLoraA() {
        return loraA;
    }

    /** Returns the parameter B (out x r). */
    public Parameter getLoraB() {
        return loraB;
    }

    /** Returns whether the adapter contributes (PEFT's disable_adapter context sets it false). */
    public boolean isAdapterEnabled() {
        return adapterEnabled;
    }

    /**
     * Switches the adapter off (the layer computes its base Linear) or on.
     *
     * @param enabled whether the adapter contributes
     */
    public void setAdapterEnabled(boolean enabled) {
        this.adapterEnabled = enabled;
    }

    /** {@inheritDoc} */
    @Override
    protected String describe() {
        String n = getName();
        LbpConfig c = getConfig();
        return (n != null ? "LoraLinear '" + n + "'" : "LoraLinear")
                + String.format(
                        Locale.ROOT,
                        "(r=%d, alpha=%s%s%s)",
                        rank,
                        alpha,
                        rslora ? ", rslora" : "",
                        c == null ? "" : ", " + c);
    }

    /** Builds a {@link LoraLinear}: {@code setUnits} is required. */
    public static class Builder extends AdaptedLinear.Builder<Builder> {

        private int rank = 8;
        private float alpha = 8;
        private float dropout;
        private boolean rslora;

        /** Creates a builder: r = 8, alpha = 8, no dropout, plain LoRA (no LBP-WHT). */
        protected Builder() {}

        /** {@inheritDoc} */
        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets the rank r (default 8).
         *
         * @param rank at least 1
         * @return this builder
         */
        public Builder optRank(int rank) {
            this.rank = rank;
            return this;
        }

        /**
         * Sets LoRA alpha (default 8); the adapter is scaled by alpha / r.
         *
         * @param alpha &gt; 0
         * @return this builder
         */
        public Builder optAlpha(float alpha) {
            this.alpha = alpha;
            return this;
        }

        /**
         * Sets the dropout rate on the adapter input in training (default 0).
         *
         * @param dropout in [0, 1)
         * @return this builder
         */
        public Builder optDropout(float dropout) {
            this.dropout = dropout;
            return this;
        }

        /**
         * Sets rsLoRA's scaling alpha / sqrt(r) instead of alpha / r (default false).
         *
         * @param rslora whether to scale by alpha / sqrt(r)
         * @return this builder
         */
        public Builder optUseRslora(boolean rslora) {
            this.rslora = rslora;
            return this;
        }

        /**
         * Validates and builds the layer.
         *
         * @return the layer
         * @throws IllegalArgumentException naming the layer if units, rank, alpha or dropout are
         *     bad
         */
        @Override
        public LoraLinear build() {
            LoraPatterns.checkHyperparameters(name, rank, alpha, dropout);
            if (units <= 0) {
                throw new IllegalArgumentException(
                        LoraPatterns.layer(name) + ": setUnits must be > 0, got " + units);
            }
            return new LoraLinear(this);
        }
    }
}
