package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.engine.ProjectionArrays;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** One layer's gradient probes: armed or not, and what the armed passes recorded. */
final class GradientProbes {

    private volatile boolean armed;
    private final List<GradientProbe> recorded = new CopyOnWriteArrayList<>();

    boolean isArmed() {
        return armed;
    }

    void arm() {
        armed = true;
    }

    /** Disarms and returns what was recorded since arming. */
    List<GradientProbe> take() {
        armed = false;
        List<GradientProbe> out = new ArrayList<>(recorded);
        recorded.clear();
        return out;
    }

    /** Adds a zero leaf to y (L, N, C_out): after backward its gradient is the layer's gy. */
    NDArray add(NDArray y, ProjectionArrays arrays, TokenLayout layout, LbpConfig c) {
        NDArray leaf = y.getManager().zeros(y.getShape(), y.getDataType());
        leaf.setRequiresGradient(true);
        // a copy: the cached arrays may be replaced before the probe is read
        NDArray q = arrays.newGather(y.getManager());
        recorded.add(new GradientProbe(leaf, q, layout, c));
        return y.add(leaf);
    }

    /** The same for an output of any leading axes (..., N, C_out). */
    NDArray addToExact(
            NDArray y, long tokens, ProjectionArrays arrays, TokenLayout layout, LbpConfig c) {
        long units = y.getShape().get(y.getShape().dimension() - 1);
        NDArray y3 = y.reshape(-1, tokens, units);
        NDArray probed = add(y3, arrays, layout, c);
        NDArray result = probed.reshape(y.getShape());
        Intermediates.release(probed, result);
        Intermediates.release(y3, result);
        Intermediates.release(y, result);
        return result;
    }
}
