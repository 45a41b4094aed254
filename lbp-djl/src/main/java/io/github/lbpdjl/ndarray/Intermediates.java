package io.github.lbpdjl.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * Frees the intermediate arrays of a forward pass as soon as they are consumed.
 *
 * <p>DJL keeps every array a forward pass creates until the pass's manager closes (for training,
 * the batch's, after the optimizer step), whether or not autograd needs it. Closing an intermediate
 * only drops DJL's handle: on PyTorch and MXNet the autograd graph holds its own reference to every
 * array its backward needs, so what backward needs stays and the rest is freed at once. That is
 * what lets LBP-WHT's saving show in peak memory: its layers make autograd keep the projected
 * coefficients instead of the layer input.
 *
 * <p>Never release an array made from Java data ({@code manager.create(float[])}): on PyTorch its
 * memory is the Java buffer, which closing lets the garbage collector free while autograd may still
 * read it. Everything this project releases is the result of an engine operation.
 *
 * <p>Model code lists a block's intermediates once, at the end of its forward: {@link
 * #releaseAll(NDList, NDList...)}. They then live until the block returns, which costs at most one
 * block's temporaries; the arrays autograd needs are kept by autograd either way.
 *
 * <p>Releasing is on by default; {@link #setEnabled(boolean)} (or the system property {@code
 * lbp.releaseIntermediates=false}) turns it off process-wide, e.g. to compare results with and
 * without it.
 */
public final class Intermediates {

    private static volatile boolean enabled =
            !"false".equalsIgnoreCase(System.getProperty("lbp.releaseIntermediates"));

    private Intermediates() {}

    /**
     * Returns whether intermediates are released.
     *
     * @return true unless switched off
     */
    public static boolean isEnabled() {
        return enabled;
    }

    /**
     * Switches releasing on or off for the whole process.
     *
     * @param enabled whether forward passes release their intermediates
     */
    public static void setEnabled(boolean enabled) {
        Intermediates.enabled = enabled;
    }

    /**
     * Closes a consumed intermediate, unless releasing is off, it is null, or it is the same object
     * as one of the arrays still in use (a child block may return its input unchanged).
     *
     * @param consumed the array no longer needed by the caller
     * @param stillUsed arrays that must stay open
     */
    public static void release(NDArray consumed, NDArray... stillUsed) {
        if (!enabled || consumed == null) {
            return;
        }
        for (NDArray s : stillUsed) {
            if (s == consumed) {
                return;
            }
        }
        consumed.close();
    }

    /**
     * Closes every array of a consumed list that is not also in {@code stillUsed}.
     *
     * @param consumed the arrays no longer needed
     * @param stillUsed the arrays that must stay open
     */
    public static void release(NDList consumed, NDList stillUsed) {
        if (!enabled || consumed == null) {
            return;
        }
        for (NDArray a : consumed) {
            boolean keep = false;
            for (NDArray s : stillUsed) {
                if (s == a) {
                    keep = true;
                    break;
                }
            }
            if (!keep) {
                a.close();
            }
        }
    }

    /**
     * Closes a forward pass's intermediates at once, typically as the last line of a block's
     * forward. Each array is closed once, however often it is listed (a child block may return its
     * input unchanged, so two names may hold one array); nulls are skipped, and so is every array
     * that is the same object as one in {@code keep}: pass the block's inputs and outputs there.
     * Does nothing when releasing is off.
     *
     * <pre>{@code
     * NDList y = proj.forward(parameterStore, new NDList(out), training, params);
     * Intermediates.releaseAll(new NDList(qkv, q, k, v, scores, attn, out), inputs, y);
     * return y;
     * }</pre>
     *
     * @param consumed the intermediates, in any order
     * @param keep the arrays that must stay open: the block's inputs and outputs
     */
    public static void releaseAll(NDList consumed, NDList... keep) {
        if (!enabled || consumed == null) {
            return;
        }
        Set<NDArray> closed = Collections.newSetFromMap(new IdentityHashMap<>());
        for (NDList list : keep) {
            closed.addAll(list);
        }
        for (NDArray a : consumed) {
            if (a != null && closed.add(a)) {
                a.close();
            }
        }
    }
}
