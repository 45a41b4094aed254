package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * Moved to {@link io.github.lbpdjl.ndarray.Intermediates}.
 *
 * @deprecated use {@link io.github.lbpdjl.ndarray.Intermediates}; this class goes in the next
 *     release
 */
@Deprecated
public final class Intermediates {

    private Intermediates() {}

    /**
     * @return whether intermediates are released
     * @deprecated use {@link io.github.lbpdjl.ndarray.Intermediates#isEnabled()}
     */
    @Deprecated
    public static boolean isEnabled() {
        return io.github.lbpdjl.ndarray.Intermediates.isEnabled();
    }

    /**
     * @param enabled whether forward passes release their intermediates
     * @deprecated use {@link io.github.lbpdjl.ndarray.Intermediates#setEnabled(boolean)}
     */
    @Deprecated
    public static void setEnabled(boolean enabled) {
        io.github.lbpdjl.ndarray.Intermediates.setEnabled(enabled);
    }

    /**
     * @param consumed the array no longer needed by the caller
     * @param stillUsed arrays that must stay open
     * @deprecated use {@link io.github.lbpdjl.ndarray.Intermediates#release(NDArray, NDArray...)}
     */
    @Deprecated
    public static void release(NDArray consumed, NDArray... stillUsed) {
        io.github.lbpdjl.ndarray.Intermediates.release(consumed, stillUsed);
    }

    /**
     * @param consumed the arrays no longer needed
     * @param stillUsed the arrays that must stay open
     * @deprecated use {@link io.github.lbpdjl.ndarray.Intermediates#release(NDList, NDList)}
     */
    @Deprecated
    public static void release(NDList consumed, NDList stillUsed) {
        io.github.lbpdjl.ndarray.Intermediates.release(consumed, stillUsed);
    }
}
