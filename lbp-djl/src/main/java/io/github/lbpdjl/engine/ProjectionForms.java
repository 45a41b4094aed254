package io.github.lbpdjl.engine;

import io.github.lbpdjl.wht.PatchProjection;
import java.util.Locale;
import java.util.Objects;

/**
 * Which form of the projection a training forward uses: per patch (factored) or the dense matrices
 * Q and Qs^T over the token axis. Both give the same values and the same gradients to float
 * rounding.
 *
 * <p>The rule ({@link Form#AUTO}): dense when Q has at most {@link #DENSE_MAX_ROWS} rows (M = E + k
 * P), per patch otherwise. The dense products cost M multiply-adds per token and channel; the
 * per-patch form costs about k + 1 plus a fixed share for its reshapes and transposes, which
 * measured (PyTorch and MXNet, CPU, docs/BENCHMARKS.md) like a dense Q of about 128 rows: ViT-B's 1
 * + 14 x 14 tokens (P = 4) stay dense up to LP_L1-6 (M = 85), a 28 x 28 grid (P = 16) is dense up
 * to LP_L1-2 (M = 48), a 56 x 56 grid (P = 49) is per patch from LP_L1-2 (M = 147) on.
 *
 * <p>Process-wide; the system property {@code lbp.projection} ({@code auto}, {@code dense}, {@code
 * factored}) sets the start value, {@link #setForm(Form)} changes it (e.g. to compare the two).
 */
public final class ProjectionForms {

    /** The largest Q (rows) that the rule runs dense. */
    public static final int DENSE_MAX_ROWS = 128;

    /** The forms. */
    public enum Form {
        /** Dense for at most {@link #DENSE_MAX_ROWS} projected rows, per patch otherwise. */
        AUTO,
        /** Always the dense matrices (O(k P N) numbers and work per channel). */
        DENSE,
        /** Always per patch (O(k p^2) numbers, O(k N) work per channel). */
        FACTORED
    }

    private static volatile Form form =
            Form.valueOf(
                    System.getProperty("lbp.projection", "auto").trim().toUpperCase(Locale.ROOT));

    private ProjectionForms() {}

    /**
     * Returns the form in use.
     *
     * @return the form
     */
    public static Form getForm() {
        return form;
    }

    /**
     * Sets the form for the whole process.
     *
     * @param form the form
     */
    public static void setForm(Form form) {
        ProjectionForms.form = Objects.requireNonNull(form, "form");
    }

    /**
     * Whether a projection runs with the dense matrices under the form in use.
     *
     * @param p the projection
     * @return true for the dense form
     */
    public static boolean isDense(PatchProjection p) {
        switch (form) {
            case DENSE:
                return true;
            case FACTORED:
                return false;
            default:
                return p.getRows() <= DENSE_MAX_ROWS;
        }
    }
}
