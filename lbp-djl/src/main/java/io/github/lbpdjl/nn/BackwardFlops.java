package io.github.lbpdjl.nn;

import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;

/**
 * Backward FLOPs of one token-wise linear layer per input sample (FLOP = one multiply or add; a
 * multiply-add counts 2), as docs/METHOD.md counts them.
 *
 * <ul>
 *   <li>full backprop: grad_x plus grad_W, {@code 4 N C_in C_out};
 *   <li>LBP-WHT: the same on {@code E + k P} rows, {@code 4 (E + k P) C_in C_out}, plus the
 *       transforms, {@code p^2 k P (2 C_in + C_out)} additions: linear in the tokens, as the
 *       per-patch projection computes them (small projections run as dense products, which cost
 *       more but measured faster there).
 * </ul>
 */
public final class BackwardFlops {

    private final long full;
    private final long lbp;

    private BackwardFlops(long full, long lbp) {
        this.full = full;
        this.lbp = lbp;
    }

    /**
     * Counts the backward FLOPs of a layer.
     *
     * @param layout the token layout of its input
     * @param config its LBP-WHT configuration
     * @param inFeatures C_in
     * @param outFeatures C_out
     * @return the counts per sample
     */
    public static BackwardFlops of(
            TokenLayout layout, LbpConfig config, long inFeatures, long outFeatures) {
        PatchProjection p =
                PatchProjection.of(
                        layout, config.getPatchSize(), config.getSelection(), config.getPadding());
        long n = layout.getTokenCount();
        long kp = (long) p.getBases() * p.getPatches();
        long rows = layout.getExtraTokens() + kp;
        long pp = (long) config.getPatchSize() * config.getPatchSize();
        long full = 4 * n * inFeatures * outFeatures;
        long lbp = 4 * rows * inFeatures * outFeatures + pp * kp * (2 * inFeatures + outFeatures);
        return new BackwardFlops(full, lbp);
    }

    /**
     * Counts the backward FLOPs of a LoRA layer {@code x W0^T + s (x A^T) B^T} with W0 frozen, per
     * sample: grad_x through W0, {@code 2 R C_in C_out}, plus the adapter's four products, {@code 4
     * R r (C_in + C_out)}, on R = N rows, or with LBP-WHT on R = E + k P rows plus the transforms.
     *
     * @param layout the token layout of its input
     * @param lbp the LBP-WHT configuration of its backward, or null for plain LoRA
     * @param inFeatures C_in
     * @param outFeatures C_out
     * @param rank r
     * @return backward FLOPs per sample
     */
    public static long lora(
            TokenLayout layout, LbpConfig lbp, long inFeatures, long outFeatures, int rank) {
        long rows = layout.getTokenCount();
        long transforms = 0;
        if (lbp != null) {
            PatchProjection p =
                    PatchProjection.of(
                            layout, lbp.getPatchSize(), lbp.getSelection(), lbp.getPadding());
            long kp = (long) p.getBases() * p.getPatches();
            rows = layout.getExtraTokens() + kp;
            transforms =
                    (long) lbp.getPatchSize()
                            * lbp.getPatchSize()
                            * kp
                            * (2 * inFeatures + outFeatures);
        }
        return 2 * rows * inFeatures * outFeatures
                + 4 * rows * rank * (inFeatures + outFeatures)
                + transforms;
    }

    /**
     * @return full-backprop FLOPs per sample
     */
    public long getFull() {
        return full;
    }

    /**
     * @return LBP-WHT FLOPs per sample
     */
    public long getLbp() {
        return lbp;
    }

    /**
     * @return LBP / full
     */
    public double getRatio() {
        return (double) lbp / full;
    }

    /**
     * The training-step FLOP ratio of the layer, forward (exact, {@code 2 N C_in C_out}) plus
     * backward: the speed-up limit of LBP-WHT against Linear.
     *
     * @return (forward + LBP backward) / (forward + full backward)
     */
    public double getStepRatio() {
        double forward = full / 2.0;
        return (forward + lbp) / (forward + full);
    }

    @Override
    public String toString() {
        return String.format(
                "backward %.2f MFLOPs (full %.2f MFLOPs, ratio %.3f)",
                lbp / 1e6, full / 1e6, getRatio());
    }
}
