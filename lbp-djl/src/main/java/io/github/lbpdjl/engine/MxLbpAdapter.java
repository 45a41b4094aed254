package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MXNet. A plain map {@code x W^T} (LbpLinear, LbpConv2d) trains with a backward of its own,
 * recorded through MXNet's custom autograd function ({@link MxLbpBackward}): an exact forward that
 * keeps only the projected coefficients of x, and a backward of k/64-sized products. Other maps
 * (LoRA), and every map when the custom backward is switched off or MXNet's library lacks it, use
 * the surrogate, with these choices: the correction term is a separate addition (MXNet's
 * FullyConnected takes only a 1-D bias, and a bias fused into a FullyConnected call whose data and
 * weight are detached was measured to get a zero gradient on MXNet 1.9, so the bias travels with
 * the correction term); additions and subtractions use MXNet's {@code elemwise_add} / {@code
 * elemwise_sub}, whose backward keeps nothing (DJL's {@code add} / {@code sub} are the broadcasting
 * {@code _npi_add} / {@code _npi_subtract}, whose backward keeps both operands).
 *
 * <p>The switch: the system property {@code lbp.mxnet.backward} ({@code custom}, the default, or
 * {@code surrogate}) sets the start value, {@link #setCustomBackward(boolean)} changes it.
 */
public final class MxLbpAdapter extends SurrogateLbpAdapter {

    private static final Logger logger = LoggerFactory.getLogger(MxLbpAdapter.class);

    private static volatile boolean customBackward =
            !"surrogate"
                    .equals(
                            System.getProperty("lbp.mxnet.backward", "custom")
                                    .trim()
                                    .toLowerCase(Locale.ROOT));
    private static volatile Boolean available;

    /** Creates the MXNet adapter. */
    public MxLbpAdapter() {
        super("MXNet", false);
    }

    /**
     * Chooses the backward of plain maps for the whole process: MXNet's custom function (true) or
     * the surrogate (false).
     *
     * @param custom true for the custom backward
     */
    public static void setCustomBackward(boolean custom) {
        customBackward = custom;
    }

    /**
     * Whether plain maps train with the custom backward: switched on and available in the MXNet
     * library that DJL loaded.
     *
     * @return true if the custom backward is used
     */
    public static boolean isCustomBackward() {
        if (!customBackward) {
            return false;
        }
        Boolean a = available;
        if (a == null) {
            a = MxCustomFunction.isAvailable();
            available = a;
            if (!a) {
                logger.warn(
                        "LBP-WHT: MXNet's custom autograd function is not available; using the"
                                + " surrogate backward");
            }
        }
        return a;
    }

    /** {@inheritDoc} */
    @Override
    public NDArray forward(NDArray x, TokenwiseLinear f, NDArray bias, ProjectionArrays p) {
        Throwable failure = MxCustomFunction.takeFailure();
        if (failure != null) {
            throw new IllegalStateException(
                    "LBP-WHT's MXNet custom backward failed in the last backward pass ("
                            + failure
                            + "); its gradients were set to NaN. Run with"
                            + " -Dlbp.mxnet.backward=surrogate to use the surrogate backward",
                    failure);
        }
        NDArray w = f.getPlainWeight();
        if (w != null && isCustomBackward() && ai.djl.mxnet.jna.JnaUtils.autogradIsRecording()) {
            return MxLbpBackward.forward(x, w, bias, p, this);
        }
        return super.forward(x, f, bias, p);
    }

    /** {@inheritDoc} */
    @Override
    public boolean accumulatesGradients() {
        return false;
    }

    /** {@inheritDoc} */
    @Override
    protected NDArray plus(NDArray a, NDArray b) {
        return a.getManager().invoke("elemwise_add", new NDList(a, b), null).singletonOrThrow();
    }

    /** {@inheritDoc} */
    @Override
    protected NDArray minus(NDArray a, NDArray b) {
        return a.getManager().invoke("elemwise_sub", new NDList(a, b), null).singletonOrThrow();
    }
}
