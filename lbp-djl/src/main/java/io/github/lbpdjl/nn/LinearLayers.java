package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.engine.ProjectionArrays;
import io.github.lbpdjl.engine.ProjectionCache;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;
import java.lang.reflect.Field;
import java.util.Map;

/**
 * Helpers shared by the Linear subclasses of this project ({@link LbpLinear} and the LoRA layer):
 * the units of a Linear, sharing Parameter objects between two Linear blocks, the token layout of a
 * training input and the projection arrays of a forward pass.
 */
public final class LinearLayers {

    private LinearLayers() {}

    /**
     * Returns the output units of a Linear.
     *
     * @param linear the layer
     * @return its units
     */
    public static long units(Linear linear) {
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
    public static void shareParameters(Linear from, Linear to) {
        for (ai.djl.util.Pair<String, Parameter> p : from.getParameters()) {
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
     * Checks a training input of an LBP-WHT layer and returns its token layout: the configured one,
     * or E extra tokens + a square grid.
     *
     * @param layer the layer's description for messages, e.g. "LbpLinear 'blocks.0.mlp.fc1'"
     * @param shape the input shape
     * @param features the input features the weight expects
     * @param config the LBP-WHT configuration
     * @return the layout of its token axis
     * @throws IllegalArgumentException naming the layer, the shape and what it needs
     */
    public static TokenLayout checkInput(
            String layer, Shape shape, long features, LbpConfig config) {
        if (shape.dimension() < 3) {
            throw new IllegalArgumentException(
                    layer
                            + ": got input of shape "
                            + shape
                            + "; LBP-WHT needs (batch, tokens, features) or more leading axes");
        }
        long last = shape.get(shape.dimension() - 1);
        if (last != features) {
            throw new IllegalArgumentException(
                    layer
                            + ": got input of shape "
                            + shape
                            + " with "
                            + last
                            + " features; the weight needs "
                            + features);
        }
        long tokens = shape.get(shape.dimension() - 2);
        TokenLayout layout = config.getLayout();
        if (layout != null) {
            if (layout.getTokenCount() != tokens) {
                throw new IllegalArgumentException(
                        layer
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
                    layer
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
     * Returns the projection arrays for a training forward pass, from the layer's cache.
     *
     * @param cache the layer's cache
     * @param config the LBP-WHT configuration
     * @param layout the token layout
     * @param input the layer input (its data type and device)
     * @param weight the layer's weight array: the cached arrays live in its manager
     * @return the arrays; do not close them
     */
    public static ProjectionArrays projectionArrays(
            ProjectionCache cache,
            LbpConfig config,
            TokenLayout layout,
            NDArray input,
            NDArray weight) {
        PatchProjection projection =
                PatchProjection.of(
                        layout, config.getPatchSize(), config.getSelection(), config.getPadding());
        return cache.get(projection, input, weight.getManager());
    }
}
