package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.convolutional.Convolution;

/**
 * What makes a Conv2d a 1x1 convolution LBP-WHT can take over, and sharing its Parameter objects
 * with the layer that takes it over (or gives it back): {@link #share} is public for the adapted
 * convolutions of other packages (LoRA's).
 */
public final class Conv2dParameters {

    private Conv2dParameters() {}

    /**
     * Says what keeps a convolution from being a plain 1x1 one: kernel 1x1, stride 1, groups 1,
     * dilation 1, padding 0.
     *
     * @return the first offending setting with its value, e.g. "kernel (3, 3)", or null if none
     */
    static String problem(Shape kernel, Shape stride, Shape padding, Shape dilation, int groups) {
        if (kernel == null || kernel.dimension() != 2 || !all(kernel, 1)) {
            return "kernel " + kernel;
        }
        if (stride != null && !all(stride, 1)) {
            return "stride " + stride;
        }
        if (groups != 1) {
            return "groups " + groups;
        }
        if (dilation != null && !all(dilation, 1)) {
            return "dilation " + dilation;
        }
        if (padding != null && !all(padding, 0)) {
            return "padding " + padding;
        }
        return null;
    }

    /**
     * Says what keeps a Conv2d from being a plain 1x1 one.
     *
     * @param conv the layer
     * @return the offending setting with its value, or null if it is 1x1
     */
    static String problem(Conv2d conv) {
        return problem(
                conv.getKernelShape(),
                conv.getStride(),
                conv.getPadding(),
                conv.getDilation(),
                conv.getGroups());
    }

    private static boolean all(Shape shape, long value) {
        for (int i = 0; i < shape.dimension(); i++) {
            if (shape.get(i) != value) {
                return false;
            }
        }
        return true;
    }

    /**
     * Makes {@code to} use the "weight" and "bias" Parameter objects of {@code from} (same ids,
     * arrays, gradients and optimizer state) and, if they are initialised, initialises {@code to}
     * with the input shape of {@code from}.
     *
     * @param from the layer whose parameters are shared
     * @param to the layer that takes them
     */
    public static void share(Conv2d from, Conv2d to) {
        for (String key : new String[] {"weight", "bias"}) {
            Parameter p = from.getParameters().contains(key) ? from.getParameters().get(key) : null;
            if (p != null) {
                setParameter(to, key, p);
            }
        }
        Parameter weight = from.getParameters().get("weight");
        if (!weight.isInitialized()) {
            return;
        }
        NDArray w = weight.getArray();
        Shape in = inputShape(from, w.getShape().get(1));
        to.initialize(w.getManager(), w.getDataType(), in);
    }

    /** The input shape a layer was initialised with, or (1, C_in, 1, 1) if it has none. */
    private static Shape inputShape(Conv2d conv, long channels) {
        try {
            Shape[] shapes = conv.getInputShapes();
            if (shapes != null
                    && shapes.length == 1
                    && shapes[0].dimension() == 4
                    && shapes[0].get(1) == channels) {
                return shapes[0];
            }
        } catch (IllegalStateException ignored) {
            // loaded without input shapes: any shape with the right channels will do
        }
        return new Shape(1, channels, 1, 1);
    }

    /** Puts a Parameter into a Conv2d: its parameter map and Convolution's own field. */
    private static void setParameter(Conv2d target, String key, Parameter parameter) {
        LinearParameters.setParameter(target, Convolution.class, key, parameter);
    }
}
