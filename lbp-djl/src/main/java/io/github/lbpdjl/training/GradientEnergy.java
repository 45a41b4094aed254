package io.github.lbpdjl.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;

/**
 * Gradient-energy statistics of a layer's output gradient gy on its token grid (extra tokens are
 * exact and left out): the fraction kept by a projection, and the energy of every basis.
 *
 * <p>The 2-D Walsh bases are orthogonal with norm p, so with zero padding the energy of gy on basis
 * b of a patch is {@code <gy_patch, B_b>^2 / p^2} and these add up to {@code ||gy||^2}.
 */
public final class GradientEnergy {

    private GradientEnergy() {}

    /**
     * Returns ||P gy||^2 / ||gy||^2 over the grid tokens.
     *
     * @param gy the output gradient (L, N, C)
     * @param gather the Q (M, N) of the projection P used in the forward pass
     * @param extraTokens E, the leading tokens to leave out
     * @param patchSize p
     * @return the fraction in [0, 1], or 1 if gy is zero on the grid
     */
    public static double keptFraction(NDArray gy, NDArray gather, int extraTokens, int patchSize) {
        NDArray grid = gy.get(new NDIndex(":, {}:, :", extraTokens));
        double total = grid.square().sum().getFloat();
        if (total == 0) {
            return 1;
        }
        NDArray coeffs = gather.matMul(gy).get(new NDIndex(":, {}:, :", extraTokens));
        double kept = coeffs.square().sum().getFloat() / ((double) patchSize * patchSize);
        return Math.min(1.0, kept / total);
    }

    /**
     * Returns the energy of gy on every basis of the patch, summed over samples, patches and
     * channels, in the order of {@code BasisSelection.all().bases(p)}.
     *
     * @param gy the output gradient (L, N, C)
     * @param layout the token layout
     * @param config the configuration (patch size and padding are used)
     * @return p * p energies
     */
    public static double[] perBasis(NDArray gy, TokenLayout layout, LbpConfig config) {
        int p = config.getPatchSize();
        PatchProjection all =
                PatchProjection.of(layout, p, BasisSelection.all(), config.getPadding());
        int e = layout.getExtraTokens();
        NDArray q =
                gy.getManager()
                        .create(
                                all.gather(),
                                new ai.djl.ndarray.types.Shape(all.getRows(), all.getTokens()))
                        .toType(gy.getDataType(), false);
        NDArray coeffs = q.matMul(gy).get(new NDIndex(":, {}:, :", e)); // (L, P * p^2, C)
        long samples = coeffs.getShape().get(0);
        long channels = coeffs.getShape().get(2);
        NDArray energy =
                coeffs.reshape(samples, all.getPatches(), (long) p * p, channels)
                        .square()
                        .sum(new int[] {0, 1, 3})
                        .div((double) p * p);
        float[] v = energy.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    /**
     * Chooses the fewest bases whose energy reaches a fraction of the total, at most kMax, always
     * at least one.
     *
     * @param energies energy per basis, in the order of {@code BasisSelection.all().bases(p)}
     * @param patchSize p
     * @param target the fraction to reach, in (0, 1]
     * @param kMax the most bases to keep
     * @return the selection, bases in decreasing energy
     */
    public static BasisSelection select(double[] energies, int patchSize, double target, int kMax) {
        if (!(target > 0 && target <= 1)) {
            throw new IllegalArgumentException("energy target must be in (0, 1], got " + target);
        }
        if (kMax < 1) {
            throw new IllegalArgumentException("kMax must be >= 1, got " + kMax);
        }
        int[][] bases = BasisSelection.all().bases(patchSize);
        if (energies.length != bases.length) {
            throw new IllegalArgumentException(
                    "got "
                            + energies.length
                            + " energies for "
                            + bases.length
                            + " bases of a "
                            + patchSize
                            + "x"
                            + patchSize
                            + " patch");
        }
        Integer[] order = new Integer[bases.length];
        double total = 0;
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
            total += energies[i];
        }
        // stable: equal energies keep the low-frequency-first order
        java.util.Arrays.sort(order, (a, b) -> Double.compare(energies[b], energies[a]));
        java.util.List<int[]> chosen = new java.util.ArrayList<>();
        double sum = 0;
        for (Integer i : order) {
            if (chosen.size() >= kMax || sum >= target * total) {
                break;
            }
            chosen.add(bases[i]);
            sum += energies[i];
        }
        if (chosen.isEmpty()) {
            chosen.add(bases[0]);
        }
        return BasisSelection.of(chosen.toArray(new int[0][]));
    }
}
