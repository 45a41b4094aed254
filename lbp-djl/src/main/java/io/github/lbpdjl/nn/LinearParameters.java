package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.util.Pair;
import java.lang.reflect.Field;
import java.util.Map;

/** A Linear's units, and sharing its Parameter objects with the layer that takes it over. */
final class LinearParameters {

    private LinearParameters() {}

    /**
     * Returns the output units of a Linear.
     *
     * @param linear the layer
     * @return its units
     */
    static long units(Linear linear) {
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
    static void share(Linear from, Linear to) {
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
        setParameter(target, Linear.class, key, parameter);
    }

    /**
     * Puts a Parameter into a block: its parameter map and the field of that name that the block's
     * class (or a superclass) keeps it in, so the forward pass uses it.
     *
     * @param target the block
     * @param fieldOwner the class that declares the field, e.g. Linear or Convolution
     * @param key the parameter name, also the field name ("weight", "bias")
     * @param parameter the Parameter to share
     */
    static void setParameter(
            AbstractBlock target, Class<?> fieldOwner, String key, Parameter parameter) {
        try {
            Field map = AbstractBlock.class.getDeclaredField("parameters");
            map.setAccessible(true);
            @SuppressWarnings("unchecked")
            Map<String, Parameter> params = (Map<String, Parameter>) map.get(target);
            params.put(key, parameter);
            Field field = fieldOwner.getDeclaredField(key);
            field.setAccessible(true);
            field.set(target, parameter);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(
                    "cannot share parameter '" + key + "' with " + target, e);
        }
    }

    /** A plain Linear with the units, bias and Parameter objects of another. */
    static Linear plain(Linear from) {
        Linear linear =
                Linear.builder()
                        .setUnits(units(from))
                        .optBias(from.getParameters().contains("bias"))
                        .build();
        share(from, linear);
        return linear;
    }
}
