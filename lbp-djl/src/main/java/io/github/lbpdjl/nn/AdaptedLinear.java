package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.engine.LbpEngines;
import io.github.lbpdjl.engine.ProjectionArrays;
import io.github.lbpdjl.engine.TokenwiseLinear;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

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
public abstract class AdaptedLinear extends Linear {

    private volatile LbpConfig config;
    private volatile boolean lbpEnabled = true;
    private volatile String name;
    private volatile boolean probeArmed;
    private volatile Shape lastTrainingShape;
    private final List<GradientProbe> probes = new CopyOnWriteArrayList<>();
    private final ProjectionCache projectionCache = new ProjectionCache();

    /**
     * Creates the layer.
     *
     * @param builder the Linear builder (units, bias)
     * @param config the LBP-WHT configuration, or null for none
     * @param name the layer's name or path for messages, or null
     */
    protected AdaptedLinear(Linear.Builder builder, LbpConfig config, String name) {
        super(builder);
        this.config = config;
        this.name = name;
    }

    /**
     * Runs the layer without LBP-WHT: inference, training with LBP-WHT off or not configured.
     *
     * @param parameterStore the parameter store
     * @param input the input (..., C_in)
     * @param training whether this is a training pass
     * @param params optional parameters
     * @return the output
     */
    protected abstract NDList forwardExact(
            ParameterStore parameterStore,
            NDArray input,
            boolean training,
            PairList<String, Object> params);

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
        LbpConfig c = config;
        if (training && c != null && lbpEnabled && lbpApplies()) {
            return new NDList(forwardLbp(parameterStore, input, c));
        }
        NDList out = forwardExact(parameterStore, input, training, params);
        if (training && c != null && probeArmed && input.getShape().dimension() >= 3) {
            return new NDList(probeExact(out.singletonOrThrow(), input, c));
        }
        return out;
    }

    /**
     * Runs DJL's Linear forward on this layer's "weight" and "bias": {@code x W^T + b}.
     *
     * @param parameterStore the parameter store
     * @param input the input (..., C_in)
     * @param training whether this is a training pass
     * @param params optional parameters
     * @return the output
     */
    protected final NDList linear(
            ParameterStore parameterStore,
            NDArray input,
            boolean training,
            PairList<String, Object> params) {
        return super.forwardInternal(parameterStore, new NDList(input), training, params);
    }

    private NDArray forwardLbp(ParameterStore parameterStore, NDArray input, LbpConfig c) {
        Shape shape = input.getShape();
        NDArray weight = parameterStore.getValue(parameter("weight"), input.getDevice(), true);
        long in = weight.getShape().get(1);
        TokenLayout layout = checkInput(shape, in, c);
        lastTrainingShape = shape;
        int d = shape.dimension();
        NDArray x = input.reshape(-1, shape.get(d - 2), in);
        ProjectionArrays arrays = projectionArrays(c, layout, input, weight);
        TokenwiseMap map = tokenwiseMap(parameterStore, input, x, weight);
        NDArray y =
                LbpEngines.forEngine(input.getManager().getEngine().getEngineName())
                        .forward(map.getInput(), map, map.getBias(), arrays);
        if (probeArmed) {
            NDArray withProbe = addProbe(y, arrays, layout, c);
            Intermediates.release(y, withProbe);
            y = withProbe;
        }
        // autograd keeps what backward needs; DJL need not keep the rest until the batch ends
        map.release();
        Intermediates.release(map.getInput(), input, y);
        Intermediates.release(x, input, y);
        NDArray out = y.reshape(shape.slice(0, d - 1).add(weight.getShape().get(0)));
        Intermediates.release(y, out);
        return out;
    }

    /** The exact output with a probe added, so that statistics see gy with LBP-WHT off too. */
    private NDArray probeExact(NDArray y, NDArray input, LbpConfig c) {
        Shape shape = input.getShape();
        long tokens = shape.get(shape.dimension() - 2);
        TokenLayout layout = layoutFor(tokens);
        long units = y.getShape().get(y.getShape().dimension() - 1);
        NDArray y3 = y.reshape(-1, tokens, units);
        ProjectionArrays arrays =
                projectionArrays(c, layout, input, parameter("weight").getArray());
        NDArray probed = addProbe(y3, arrays, layout, c);
        NDArray result = probed.reshape(y.getShape());
        Intermediates.release(probed, result);
        Intermediates.release(y3, result);
        Intermediates.release(y, result);
        return result;
    }

    /** Adds a zero leaf to y (L, N, C_out): after backward its gradient is this layer's gy. */
    private NDArray addProbe(NDArray y, ProjectionArrays arrays, TokenLayout layout, LbpConfig c) {
        NDArray leaf = y.getManager().zeros(y.getShape(), y.getDataType());
        leaf.setRequiresGradient(true);
        NDArray q =
                arrays.getGather().duplicate(); // the cached Q may be replaced before it is read
        q.attach(y.getManager());
        probes.add(new GradientProbe(leaf, q, layout, c));
        return y.add(leaf);
    }

    private ProjectionArrays projectionArrays(
            LbpConfig c, TokenLayout layout, NDArray input, NDArray weight) {
        PatchProjection projection =
                PatchProjection.of(layout, c.getPatchSize(), c.getSelection(), c.getPadding());
        return projectionCache.get(projection, input, weight.getManager());
    }

    /**
     * Arms the gradient probe: the following training forward passes (until {@link
     * #takeGradientProbes()}) record this layer's output gradient gy, with LBP-WHT on or off.
     */
    public void armProbe() {
        probeArmed = true;
    }

    /**
     * Disarms the probe and returns what it recorded since {@link #armProbe()}, one probe per
     * training forward pass.
     *
     * @return the probes, possibly none
     */
    public List<GradientProbe> takeGradientProbes() {
        probeArmed = false;
        List<GradientProbe> out = new ArrayList<>(probes);
        probes.clear();
        return out;
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
        long features = parameter("weight").getShape().get(1);
        return checkInput(new Shape(1, tokens, features), features, requireConfig());
    }

    private LbpConfig requireConfig() {
        LbpConfig c = config;
        if (c == null) {
            throw new IllegalStateException(describe() + " has no LBP-WHT configuration");
        }
        return c;
    }

    /**
     * Checks a training input and returns its token layout: the configured one, or E extra tokens +
     * a square grid.
     *
     * @throws IllegalArgumentException naming the layer, the shape and what it needs
     */
    private TokenLayout checkInput(Shape shape, long features, LbpConfig c) {
        if (shape.dimension() < 3) {
            throw new IllegalArgumentException(
                    describe()
                            + ": got input of shape "
                            + shape
                            + "; LBP-WHT needs (batch, tokens, features) or more leading axes");
        }
        long last = shape.get(shape.dimension() - 1);
        if (last != features) {
            throw new IllegalArgumentException(
                    describe()
                            + ": got input of shape "
                            + shape
                            + " with "
                            + last
                            + " features; the weight needs "
                            + features);
        }
        long tokens = shape.get(shape.dimension() - 2);
        TokenLayout layout = c.getLayout();
        if (layout != null) {
            if (layout.getTokenCount() != tokens) {
                throw new IllegalArgumentException(
                        describe()
                                + ": got input of shape "
                                + shape
                                + " with "
                                + tokens
                                + " tokens; the layout ("
                                + layout
                                + ") needs "
                                + layout.getTokenCount());
            }
            return layout;
        }
        TokenLayout inferred = TokenLayout.inferSquare(tokens);
        if (inferred == null) {
            throw new IllegalArgumentException(
                    describe()
                            + ": got input of shape "
                            + shape
                            + "; "
                            + tokens
                            + " tokens is not E + a square for E in 0..2, so the grid cannot be"
                            + " inferred: set LbpConfig.optLayout(TokenLayout.grid(E, H, W))");
        }
        return inferred;
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
        return config;
    }

    /**
     * Replaces the LBP-WHT configuration, e.g. to change the rank during training.
     *
     * @param config the new configuration, or null for none
     */
    public void setConfig(LbpConfig config) {
        this.config = config;
    }

    /**
     * Returns whether a configured LBP-WHT is used in training.
     *
     * @return true unless switched off
     */
    public boolean isLbpEnabled() {
        return lbpEnabled;
    }

    /**
     * Switches a configured LBP-WHT on or off for this layer; off, training uses exact backprop.
     *
     * @param lbpEnabled whether to use LBP-WHT in training
     */
    public void setLbpEnabled(boolean lbpEnabled) {
        this.lbpEnabled = lbpEnabled;
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
        return n != null ? kind + " '" + n + "'" : kind + "(" + config + ")";
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
        Linear linear =
                Linear.builder()
                        .setUnits(unitsOf(this))
                        .optBias(getParameters().contains("bias"))
                        .build();
        shareParameters(this, linear);
        return linear;
    }

    /**
     * Returns the output units of a Linear.
     *
     * @param linear the layer
     * @return its units
     */
    protected static long unitsOf(Linear linear) {
        Shape out = linear.getOutputShapes(new Shape[] {new Shape(1)})[0];
        return out.get(out.dimension() - 1);
    }

    /**
     * Makes {@code to} use the "weight" and "bias" Parameter objects of {@code from} (same ids,
     * arrays, gradients and optimizer state) and, if they are initialised, initialises {@code to}
     * with the input shape of {@code from}; parameters of {@code to} that {@code from} lacks are
     * initialised then.
     *
     * @param from the layer whose parameters are shared
     * @param to the layer that takes them
     */
    protected static void shareParameters(Linear from, Linear to) {
        for (Pair<String, Parameter> p : from.getParameters()) {
            if (p.getKey().equals("weight") || p.getKey().equals("bias")) {
                setParameter(to, p.getKey(), p.getValue());
            }
        }
        Parameter weight = from.getParameters().get("weight");
        if (!weight.isInitialized()) {
            return;
        }
        NDArray w = weight.getArray();
        // .params metadata of a loaded Linear holds the input shape without its last axis
        Shape in = from.getInputShapes()[0];
        long features = w.getShape().get(1);
        if (in.dimension() == 0 || in.get(in.dimension() - 1) != features) {
            in = in.add(features);
        }
        to.initialize(w.getManager(), w.getDataType(), in);
    }

    /** Puts a Parameter into a Linear: its parameter map and Linear's own private field. */
    private static void setParameter(Linear target, String key, Parameter parameter) {
        try {
            Field map = AbstractBlock.class.getDeclaredField("parameters");
            map.setAccessible(true);
            @SuppressWarnings("unchecked")
            Map<String, Parameter> params = (Map<String, Parameter>) map.get(target);
            params.put(key, parameter);
            Field field = Linear.class.getDeclaredField(key);
            field.setAccessible(true);
            field.set(target, parameter);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(
                    "cannot share parameter '" + key + "' with " + target, e);
        }
    }

    /**
     * The token-wise map of one LBP-WHT training pass (see {@link TokenwiseLinear}), with the array
     * it runs on (the input as (L, N, C) or something made from it) and the bias added exactly.
     */
    protected abstract static class TokenwiseMap implements TokenwiseLinear {

        private final NDArray input;
        private final NDArray bias;

        /**
         * Creates the map's frame.
         *
         * @param input the array the map runs on, (L, N, C)
         * @param bias the bias (C_out) or null
         */
        protected TokenwiseMap(NDArray input, NDArray bias) {
            this.input = input;
            this.bias = bias;
        }

        /**
         * Returns the array the map runs on.
         *
         * @return (L, N, C)
         */
        public NDArray getInput() {
            return input;
        }

        /**
         * Returns the bias added exactly.
         *
         * @return the bias, or null
         */
        public NDArray getBias() {
            return bias;
        }

        /** Releases the map's own intermediates (detached copies) once the pass is recorded. */
        protected void release() {}
    }
}
