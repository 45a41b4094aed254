package io.github.lbpdjl.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.ndarray.Scalars;
import io.github.lbpdjl.nn.TokenwiseMap;

/**
 * The LoRA map x W0^T + s (x A^T) B^T, W0 detached. With dropout it runs on z = [x | dropout(x)] (2
 * in features): x W0^T + s (dropout(x) A^T) B^T, so that one dropout mask serves both the value and
 * the gradients.
 */
final class LoraMap extends TokenwiseMap {
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

    /**
     * The map of one training pass: on x, or with dropout on [x | dropout(x)] (one dropout mask for
     * the value and the gradients, at the price of a (tokens x 2 in) array).
     */
    static LoraMap create(
            NDArray input,
            NDArray x,
            NDArray bias,
            NDArray w,
            NDArray a,
            NDArray b,
            float s,
            float dropout) {
        NDManager m = input.getManager();
        if (dropout <= 0) {
            return new LoraMap(x, bias, w, a, b, s, 0, m);
        }
        NDArray xd = Dropout.dropout(input, dropout, true).singletonOrThrow();
        NDArray dropped = xd.reshape(x.getShape());
        NDArray joined = x.concat(dropped, 2);
        Intermediates.release(dropped, xd);
        Intermediates.release(xd, input);
        return new LoraMap(joined, bias, w, a, b, s, w.getShape().get(1), m);
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

    /**
     * x W0^T + b + s (xd A^T) B^T. The small (tokens x r) array is scaled, not the (tokens x out)
     * one, and the two (tokens x out) summands are freed at once: autograd does not keep them (the
     * backward of an addition needs no inputs), so the layer keeps one output-sized array alive
     * like Linear, not three.
     */
    static NDArray adapted(
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
    static NDArray deltaWeight(NDArray aFrozen, NDArray bFrozen, float s) {
        NDArray sb = Scalars.mul(bFrozen, s);
        NDArray product = sb.matMul(aFrozen);
        sb.close();
        return product;
    }

    /** A detached view of a parameter array, owned by the forward pass's manager. */
    static NDArray detached(NDArray array, NDManager manager) {
        if (!array.hasGradient()) {
            return array;
        }
        return detachedAlways(array, manager);
    }

    static NDArray detachedAlways(NDArray array, NDManager manager) {
        NDArray d = array.stopGradient();
        d.attach(manager);
        return d;
    }

    /** Adds {@code scale B A} to a weight in place, outside autograd. */
    static void addDelta(NDArray w, Parameter loraA, Parameter loraB, float scale) {
        NDArray a = loraA.getArray().stopGradient();
        NDArray b = loraB.getArray().stopGradient();
        NDArray delta = deltaWeight(a, b, scale);
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

    /** Checks that an input has the weight's features on its last axis, naming the layer. */
    static void checkFeatures(String layer, Shape shape, NDArray weight) {
        long in = weight.getShape().get(1);
        if (shape.dimension() == 0 || shape.get(shape.dimension() - 1) != in) {
            throw new IllegalArgumentException(
                    layer
                            + ": got input of shape "
                            + shape
                            + "; the weight ("
                            + weight.getShape()
                            + ") needs "
                            + in
                            + " features on the last axis");
        }
    }
}
