package io.github.lbpdjl.peft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.ndarray.Scalars;
import io.github.lbpdjl.nn.AdaptedLinear;
import java.util.Locale;

/**
 * A LoRA-adapted {@link Linear}: {@code y = x W0^T + b + s * (dropout(x) A^T) B^T} with the base
 * weight W0 and bias b frozen (never differentiated), trainable {@code A} (r x in, parameter
 * "lora_A") and {@code B} (out x r, parameter "lora_B"), scaling {@code s = alpha / r}.
 *
 * <p>A is initialised like PEFT's default: Kaiming-uniform with a = sqrt(5), i.e. uniform in
 * [-1/sqrt(in), 1/sqrt(in)]; B is zero, so a new layer computes exactly its base Linear. The
 * parameters have type {@link Parameter.Type#OTHER} so that a model-wide {@code setInitializer(...,
 * Type.WEIGHT)} does not overwrite B's zeros. The base keeps Linear's parameter names "weight" and
 * "bias"; .params files hold them followed by lora_A and lora_B.
 *
 * <p>With an {@link LbpConfig} the training forward runs through LBP-WHT: the whole LoRA map is
 * token-wise linear, so A, B and the input get the gradients of the projected output gradient while
 * the output value stays exact. Dropout then stays exact too: the map is applied to the
 * concatenation {@code [x | dropout(x)]} (one dropout mask, used both for the value and the
 * gradients), at the price of a (tokens x 2 in) array in the forward pass.
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
    private final Parameter loraA;
    private final Parameter loraB;
    private volatile boolean adapterEnabled = true;
    private volatile boolean merged;

    /**
     * Creates the layer from a builder.
     *
     * @param builder the builder
     */
    protected LoraLinear(Builder builder) {
        super(builder, builder.lbpConfig, builder.name);
        this.units = builder.getUnits();
        this.rank = builder.rank;
        this.alpha = builder.alpha;
        this.dropout = builder.dropout;
        loraA =
                addParameter(
                        Parameter.builder()
                                .setName(LORA_A)
                                .setType(Parameter.Type.OTHER)
                                .optInitializer(new KaimingUniformSqrt5())
                                .build());
        loraB =
                addParameter(
                        Parameter.builder()
                                .setName(LORA_B)
                                .setType(Parameter.Type.OTHER)
                                .optInitializer(Initializer.ZEROS)
                                .build());
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
        LoraLinear lora =
                builder()
                        .setUnits(unitsOf(linear))
                        .optBias(linear.getParameters().contains("bias"))
                        .optRank(rank)
                        .optAlpha(alpha)
                        .optDropout(dropout)
                        .optLbpConfig(lbp)
                        .optName(name)
                        .build();
        shareParameters(linear, lora);
        return lora;
    }

    /**
     * Returns a plain Linear with this layer's units, bias and base Parameter objects: the adapter
     * is dropped (call {@link #merge()} first to keep its effect).
     *
     * @return the Linear
     */
    @Override
    public Linear toLinear() {
        return super.toLinear();
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
        NDManager m = input.getManager();
        NDArray weight = parameterStore.getValue(parameter("weight"), device, training);
        NDArray bias = biasValue(parameterStore, device, training);
        checkFeatures(input.getShape(), weight);
        if (merged) {
            if (training) {
                throw new IllegalStateException(
                        describe() + " is merged: call unmerge() before training");
            }
            return Linear.linear(input, weight, bias);
        }
        NDArray w = detached(weight, m);
        NDArray b = bias == null ? null : detached(bias, m);
        if (!adapterEnabled) {
            return Linear.linear(input, w, b);
        }
        NDArray a = parameterStore.getValue(loraA, device, training);
        NDArray bb = parameterStore.getValue(loraB, device, training);
        NDArray xd =
                training && dropout > 0
                        ? Dropout.dropout(input, dropout, true).singletonOrThrow()
                        : input;
        return new NDList(adapted(input, xd, w, b, a, bb, getScaling()));
    }

    /** {@inheritDoc} */
    @Override
    protected TokenwiseMap tokenwiseMap(
            ParameterStore parameterStore, NDArray input, NDArray x, NDArray weight) {
        Device device = input.getDevice();
        NDManager m = input.getManager();
        NDArray bias = biasValue(parameterStore, device, true);
        NDArray w = detached(weight, m);
        NDArray b = bias == null ? null : detached(bias, m);
        NDArray a = parameterStore.getValue(loraA, device, true);
        NDArray bb = parameterStore.getValue(loraB, device, true);
        if (dropout <= 0) {
            return new LoraMap(x, b, w, a, bb, getScaling(), 0, m);
        }
        NDArray xd = Dropout.dropout(input, dropout, true).singletonOrThrow();
        NDArray dropped = xd.reshape(x.getShape());
        NDArray joined = x.concat(dropped, 2);
        Intermediates.release(dropped, xd);
        Intermediates.release(xd, input);
        return new LoraMap(joined, b, w, a, bb, getScaling(), weight.getShape().get(1), m);
    }

    private NDArray biasValue(ParameterStore parameterStore, Device device, boolean training) {
        Parameter biasParam = parameter("bias");
        return biasParam == null ? null : parameterStore.getValue(biasParam, device, training);
    }

    private void checkFeatures(Shape shape, NDArray weight) {
        long in = weight.getShape().get(1);
        if (shape.dimension() == 0 || shape.get(shape.dimension() - 1) != in) {
            throw new IllegalArgumentException(
                    describe()
                            + ": got input of shape "
                            + shape
                            + "; the weight ("
                            + weight.getShape()
                            + ") needs "
                            + in
                            + " features on the last axis");
        }
    }

    /**
     * x W0^T + b + s (xd A^T) B^T. The small (tokens x r) array is scaled, not the (tokens x out)
     * one, and the two (tokens x out) summands are freed at once: autograd does not keep them (the
     * backward of an addition needs no inputs), so the layer keeps one output-sized array alive
     * like Linear, not three.
     */
    private static NDArray adapted(
            NDArray x, NDArray xd, NDArray w, NDArray bias, NDArray a, NDArray b, float s) {
        NDArray down = Linear.linear(xd, a).singletonOrThrow();
        NDArray scaled = Scalars.mul(down, s);
        Intermediates.release(down);
        NDArray delta = Linear.linear(scaled, b).singletonOrThrow();
        Intermediates.release(scaled);
        NDArray base = Linear.linear(x, w, bias).singletonOrThrow();
        NDArray y = base.add(delta);
        Intermediates.release(base);
        Intermediates.release(delta);
        return y;
    }

    /**
     * The weight the adapter adds, {@code s B A} (out x in), from detached A and B; the small B is
     * scaled, not the product.
     */
    private static NDArray deltaWeight(NDArray aFrozen, NDArray bFrozen, float s) {
        NDArray sb = Scalars.mul(bFrozen, s);
        NDArray product = sb.matMul(aFrozen);
        sb.close();
        return product;
    }

    /** A detached view of a parameter array, owned by the forward pass's manager. */
    private static NDArray detached(NDArray array, NDManager manager) {
        if (!array.hasGradient()) {
            return array;
        }
        return detachedAlways(array, manager);
    }

    private static NDArray detachedAlways(NDArray array, NDManager manager) {
        NDArray d = array.stopGradient();
        d.attach(manager);
        return d;
    }

    /**
     * The LoRA map x W0^T + s (x A^T) B^T, W0 detached. With dropout it runs on z = [x |
     * dropout(x)] (2 in features): x W0^T + s (dropout(x) A^T) B^T, so that one dropout mask serves
     * both the value and the gradients.
     */
    private static final class LoraMap extends TokenwiseMap {
        private final NDArray w;
        private final NDArray a;
        private final NDArray b;
        private final NDArray aFrozen;
        private final NDArray bFrozen;
        private final float s;
        private final long dropoutSplit;

        /**
         * @param dropoutSplit the input features when the map runs on [x | dropout(x)], else 0
         */
        LoraMap(
                NDArray z,
                NDArray bias,
                NDArray w,
                NDArray a,
                NDArray b,
                float s,
                long dropoutSplit,
                NDManager manager) {
            super(z, bias);
            this.w = w;
            this.a = a;
            this.b = b;
            this.aFrozen = detachedAlways(a, manager);
            this.bFrozen = detachedAlways(b, manager);
            this.s = s;
            this.dropoutSplit = dropoutSplit;
        }

        @Override
        public NDArray apply(NDArray z) {
            if (dropoutSplit == 0) {
                return adapted(z, z, w, null, a, b, s);
            }
            NDList parts = z.split(new long[] {dropoutSplit}, z.getShape().dimension() - 1);
            NDArray y = adapted(parts.get(0), parts.get(1), w, null, a, b, s);
            Intermediates.release(parts, new NDList(z, y));
            return y;
        }

        @Override
        public NDArray applyFrozen(NDArray z, NDArray bias) {
            // W0 + s B A (or [W0 | s B A] on [x | dropout(x)]), keeping one weight-sized array:
            // all detached, so autograd does not need it; MXNet forbids in-place here
            NDArray delta = deltaWeight(aFrozen, bFrozen, s);
            NDArray merged = dropoutSplit == 0 ? delta.add(w) : w.concat(delta, 1);
            delta.close();
            NDArray y = Linear.linear(z, merged, bias).singletonOrThrow();
            merged.close(); // the engines keep what autograd needs; DJL need not keep it too
            return y;
        }

        @Override
        protected void release() {
            Intermediates.release(aFrozen, a);
            Intermediates.release(bFrozen, b);
        }
    }

    /**
     * Adds {@code s B A} to the base weight in place, so that inference is one plain Linear. Exact
     * to float rounding. A merged layer refuses training forwards.
     *
     * @throws IllegalStateException if already merged or not initialised
     */
    public void merge() {
        if (merged) {
            throw new IllegalStateException(describe() + " is already merged");
        }
        addDelta(1);
        merged = true;
    }

    /**
     * Subtracts {@code s B A} from the base weight again (exact to float rounding).
     *
     * @throws IllegalStateException if not merged
     */
    public void unmerge() {
        if (!merged) {
            throw new IllegalStateException(describe() + " is not merged");
        }
        addDelta(-1);
        merged = false;
    }

    private void addDelta(float sign) {
        Parameter weight = getParameters().get("weight");
        if (!weight.isInitialized() || !loraA.isInitialized()) {
            throw new IllegalStateException(describe() + " is not initialised");
        }
        NDArray w = weight.getArray();
        NDArray a = loraA.getArray().stopGradient();
        NDArray b = loraB.getArray().stopGradient();
        NDArray delta = deltaWeight(a, b, sign * getScaling());
        boolean grad = w.hasGradient();
        if (grad) {
            w.setRequiresGradient(false);
        }
        w.addi(delta);
        if (grad) {
            w.setRequiresGradient(true);
        }
        for (NDArray t : new NDArray[] {a, b, delta}) {
            t.close();
        }
    }

    /**
     * @return whether s B A is folded into the base weight
     */
    public boolean isMerged() {
        return merged;
    }

    /**
     * @return the rank r
     */
    public int getRank() {
        return rank;
    }

    /**
     * @return LoRA alpha
     */
    public float getAlpha() {
        return alpha;
    }

    /**
     * @return the scaling alpha / r
     */
    public float getScaling() {
        return alpha / rank;
    }

    /**
     * @return the dropout rate on the adapter input in training
     */
    public float getDropout() {
        return dropout;
    }

    /**
     * @return the units (output features)
     */
    public long getUnits() {
        return units;
    }

    /**
     * @return the parameter A (r x in)
     */
    public Parameter getLoraA() {
        return loraA;
    }

    /**
     * @return the parameter B (out x r)
     */
    public Parameter getLoraB() {
        return loraB;
    }

    /**
     * Returns the LBP-WHT configuration of the training forward.
     *
     * @return the configuration, or null for plain LoRA
     * @deprecated use {@link #getConfig()}, the name every adapted layer uses
     */
    @Deprecated
    public LbpConfig getLbpConfig() {
        return getConfig();
    }

    /**
     * Sets the LBP-WHT configuration of the training forward; null gives plain LoRA.
     *
     * @param lbpConfig the configuration, or null
     * @deprecated use {@link #setConfig(LbpConfig)}, the name every adapted layer uses
     */
    @Deprecated
    public void setLbpConfig(LbpConfig lbpConfig) {
        setConfig(lbpConfig);
    }

    /**
     * @return whether the adapter contributes (PEFT's disable_adapter context sets it false)
     */
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
                        Locale.ROOT, "(r=%d, alpha=%s%s)", rank, alpha, c == null ? "" : ", " + c);
    }

    /**
     * PEFT's default A initialiser: kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)).
     */
    private static final class KaimingUniformSqrt5 implements Initializer {
        @Override
        public NDArray initialize(NDManager manager, Shape shape, DataType dataType) {
            float bound = (float) (1 / Math.sqrt(shape.get(shape.dimension() - 1)));
            return manager.randomUniform(-bound, bound, shape, dataType);
        }
    }

    /** Builds a {@link LoraLinear}: {@code setUnits} is required. */
    public static class Builder extends Linear.Builder {

        private int rank = 8;
        private float alpha = 8;
        private float dropout;
        private LbpConfig lbpConfig;
        private String name;

        /** Creates a builder: r = 8, alpha = 8, no dropout, plain LoRA (no LBP-WHT). */
        protected Builder() {}

        long getUnits() {
            return units;
        }

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
         * Sets the LBP-WHT configuration of the training forward; null (default) is plain LoRA.
         *
         * @param config the configuration, or null
         * @return this builder
         */
        public Builder optLbpConfig(LbpConfig config) {
            this.lbpConfig = config;
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
         * Validates and builds the layer.
         *
         * @return the layer
         * @throws IllegalArgumentException naming the layer if units, rank, alpha or dropout are
         *     bad
         */
        @Override
        public LoraLinear build() {
            LoraConfig.checkHyperparameters(name, rank, alpha, dropout);
            if (units <= 0) {
                throw new IllegalArgumentException(
                        LoraConfig.layer(name) + ": setUnits must be > 0, got " + units);
            }
            return new LoraLinear(this);
        }
    }
}
