package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.wht.PatchProjection;

/**
 * The LBP-WHT projection applied per patch. The padded grid of x (L, Hp, Wp, C) is transposed once
 * into position-major patches {@code X' (p^2, L P C)} (row {@code i * p + j} holds position (i, j)
 * of every patch of every sample), so that the coefficients of all patches are one 2-D product with
 * the basis matrix, {@code B X'} (k, L P C), and spreading back is one product with its transpose,
 * {@code B^T / p^2 D} (p^2, L P C), followed by the inverse transpose and the crop: O(k N C) work
 * for O(k p^2) numbers, against O(k P N C) for the dense Q. The transposes keep the products plain
 * 2-D GEMMs: a basis broadcast against (L, P, p^2, C) patches is a batched product of hundreds of
 * small matrices, whose PyTorch CPU backward took seconds in some runs on a loaded machine.
 *
 * <p>Coefficient rows are 2-D, (L E + k L P, C): the extra tokens of every sample, then basis by
 * basis the patches of every sample; the map is token-wise, so their order is free as long as the
 * spreading reads the same one. Every array made here other than the result is released before
 * returning; products with a cached array on the left are moved to the input's manager.
 */
final class FactoredProjection {

    private FactoredProjection() {}

    /**
     * Returns the coefficient rows (L E + k L P, C) of x (L, N, C): the zero-padded grid, or with
     * {@code folded} the reflect-padded one (then x must be detached: the gather by index is not
     * meant for backward).
     */
    static NDArray coefficients(
            NDArray x, ProjectionArrays arrays, boolean folded, SurrogateLbpAdapter engine) {
        PatchProjection pr = arrays.getProjection();
        long batch = x.getShape().get(0);
        long channels = x.getShape().get(2);
        int extra = pr.getLayout().getExtraTokens();
        NDArray patches = folded ? foldedPatches(x, arrays) : patches(x, pr, engine);
        NDArray coef = local(arrays.getBasis().matMul(patches), x); // (k, L P C)
        Intermediates.release(patches, x);
        NDArray rows = coef.reshape(-1, channels);
        Intermediates.release(coef, rows);
        if (extra == 0) {
            return rows;
        }
        NDArray extraTokens = x.get(new NDIndex(":, :{}, :", extra));
        NDArray extraRows = extraTokens.reshape(batch * extra, channels);
        Intermediates.release(extraTokens, x, extraRows);
        NDArray all = NDArrays.concat(new NDList(extraRows, rows), 0);
        Intermediates.release(extraRows, x, all);
        Intermediates.release(rows, all);
        return all;
    }

    /** The zero-padded grid of x as position-major patches (p^2, L P C). */
    private static NDArray patches(NDArray x, PatchProjection pr, SurrogateLbpAdapter engine) {
        long batch = x.getShape().get(0);
        long channels = x.getShape().get(2);
        int extra = pr.getLayout().getExtraTokens();
        int h = pr.getLayout().getHeight();
        int w = pr.getLayout().getWidth();
        int p = pr.getPatchSize();
        NDArray grid = extra == 0 ? x : x.get(new NDIndex(":, {}:, :", extra));
        NDArray map = grid.reshape(batch, h, w, channels);
        Intermediates.release(grid, x, map);
        NDArray padded = map;
        if (pr.isPadded()) {
            int top = pr.getTop();
            int left = pr.getLeft();
            int bottom = pr.getPaddedHeight() - h - top;
            int right = pr.getPaddedWidth() - w - left;
            padded = engine.padGrid(map, top, bottom, left, right);
            Intermediates.release(map, x, padded);
        }
        long rowsOfPatches = (long) pr.getPaddedHeight() / p;
        long colsOfPatches = (long) pr.getPaddedWidth() / p;
        // (L, Ph, i, Pw, j, C) -> (i, j, L, Ph, Pw, C)
        NDArray split = padded.reshape(batch, rowsOfPatches, p, colsOfPatches, p, channels);
        Intermediates.release(padded, x, split);
        NDArray moved = split.transpose(2, 4, 0, 1, 3, 5);
        Intermediates.release(split, x, moved);
        NDArray out = moved.reshape((long) p * p, -1);
        Intermediates.release(moved, out);
        return out;
    }

    /** The reflect-padded grid of x as position-major patches (p^2, L P C), gathered by index. */
    private static NDArray foldedPatches(NDArray x, ProjectionArrays arrays) {
        PatchProjection pr = arrays.getProjection();
        long batch = x.getShape().get(0);
        long pp = (long) pr.getPatchSize() * pr.getPatchSize();
        NDArray taken = x.get(new NDIndex(":, {}", arrays.getFoldedIndex())); // (L, p^2 P, C)
        NDArray split = taken.reshape(batch, pp, pr.getPatches(), x.getShape().get(2));
        Intermediates.release(taken, split);
        NDArray moved = split.transpose(1, 0, 2, 3);
        Intermediates.release(split, moved);
        NDArray out = moved.reshape(pp, -1);
        Intermediates.release(moved, out);
        return out;
    }

    /**
     * Spreads coefficient rows (L E + k L P, C) back to the tokens, {@code Qs^T d} (L, N, C),
     * adding the bias (C) to every token when it is not null: through a row of ones in the
     * spreading basis for the grid (or an addition for a folded projection) and an addition for the
     * extra tokens, so that its gradient is the exact sum of the output gradient.
     */
    static NDArray spread(
            NDArray d,
            NDArray bias,
            ProjectionArrays arrays,
            long batch,
            SurrogateLbpAdapter engine) {
        return spread(d, bias, arrays, batch, engine, false);
    }

    /**
     * The same; with {@code cropped}, a folded projection spreads as an unfolded one (the zero
     * padding cropped), the transpose of {@code coefficients(x, arrays, false, engine)} divided by
     * p^2 on the grid rows.
     */
    static NDArray spread(
            NDArray d,
            NDArray bias,
            ProjectionArrays arrays,
            long batch,
            SurrogateLbpAdapter engine,
            boolean cropped) {
        PatchProjection pr = arrays.getProjection();
        long units = d.getShape().get(1);
        int extra = pr.getLayout().getExtraTokens();
        long patchRows = (long) pr.getBases() * batch * pr.getPatches();
        NDArray patchPart = extra == 0 ? d : d.get(new NDIndex("{}:", batch * extra));
        NDArray perBasis = patchPart.reshape(pr.getBases(), -1);
        Intermediates.release(patchPart, d, perBasis);
        NDArray biasView = null;
        if (bias != null) {
            biasView = bias.reshape(1, 1, units);
            biasView.attach(d.getManager()); // made from a parameter: else the model keeps it
        }
        NDArray spread;
        boolean folded = pr.isFolded() && !cropped;
        if (bias == null || folded) {
            spread = local(arrays.getSpreadBasis().matMul(perBasis), d); // (p^2, L P C)
        } else {
            NDArray onesRow = biasView.broadcast(1, patchRows / pr.getBases(), units);
            NDArray biasRow = onesRow.reshape(1, -1);
            Intermediates.release(onesRow, bias);
            NDArray withBias = NDArrays.concat(new NDList(perBasis, biasRow), 0);
            Intermediates.release(biasRow, bias);
            spread = local(arrays.getSpreadBasisWithOnes().matMul(withBias), d);
            Intermediates.release(withBias);
        }
        Intermediates.release(perBasis, d);
        NDArray grid =
                folded ? foldBack(spread, arrays, batch, engine) : unpatch(spread, pr, batch);
        if (bias != null && folded) { // mirrored positions would add the bias again
            grid = addBias(grid, biasView, engine);
        }
        if (extra == 0) {
            Intermediates.release(biasView, bias);
            return grid;
        }
        NDArray extraPart = d.get(new NDIndex(":{}", batch * extra));
        NDArray extraRows = extraPart.reshape(batch, extra, units);
        Intermediates.release(extraPart, d, extraRows);
        if (bias != null) {
            extraRows = addBias(extraRows, biasView, engine);
        }
        Intermediates.release(biasView, bias);
        NDArray all = NDArrays.concat(new NDList(extraRows, grid), 1);
        Intermediates.release(extraRows, d, all);
        Intermediates.release(grid, all);
        return all;
    }

    /** Position-major patches (p^2, L P C) back to the grid tokens (L, H W, C), cropped. */
    private static NDArray unpatch(NDArray spread, PatchProjection pr, long batch) {
        int h = pr.getLayout().getHeight();
        int w = pr.getLayout().getWidth();
        int p = pr.getPatchSize();
        long rowsOfPatches = (long) pr.getPaddedHeight() / p;
        long colsOfPatches = (long) pr.getPaddedWidth() / p;
        // (i, j, L, Ph, Pw, C) -> (L, Ph, i, Pw, j, C)
        NDArray split = spread.reshape(p, p, batch, rowsOfPatches, colsOfPatches, -1);
        Intermediates.release(spread, split);
        NDArray moved = split.transpose(2, 3, 0, 4, 1, 5);
        Intermediates.release(split, moved);
        NDArray padded = moved.reshape(batch, pr.getPaddedHeight(), pr.getPaddedWidth(), -1);
        Intermediates.release(moved, padded);
        NDArray map = padded;
        if (pr.isPadded()) {
            int top = pr.getTop();
            int left = pr.getLeft();
            map = padded.get(new NDIndex(":, {}:{}, {}:{}, :", top, top + h, left, left + w));
            Intermediates.release(padded, map);
        }
        NDArray grid = map.reshape(batch, (long) h * w, -1);
        Intermediates.release(map, grid);
        return grid;
    }

    /**
     * Position-major patches (p^2, L P C) of a folded projection back to the grid tokens (L, H W,
     * C): every token gets the sum of the positions that mirror it, so that the transpose (what
     * backward computes) is the reflect-padded gather.
     */
    private static NDArray foldBack(
            NDArray spread, ProjectionArrays arrays, long batch, SurrogateLbpAdapter engine) {
        PatchProjection pr = arrays.getProjection();
        long pp = spread.getShape().get(0);
        long patches = pr.getPatches();
        NDArray split = spread.reshape(pp, batch, patches, -1);
        Intermediates.release(spread, split);
        NDArray moved = split.transpose(1, 0, 2, 3); // (L, p^2, P, C)
        Intermediates.release(split, moved);
        NDArray flat = moved.reshape(batch, pp * patches, -1);
        Intermediates.release(moved, flat);
        Shape zeroShape = new Shape(batch, 1, flat.getShape().get(2));
        NDArray zero = flat.getManager().zeros(zeroShape, flat.getDataType());
        NDArray withZero = NDArrays.concat(new NDList(flat, zero), 1);
        Intermediates.release(zero);
        Intermediates.release(flat, withZero);
        NDArray sum = null;
        for (NDArray index : arrays.getFoldSources()) {
            NDArray part = withZero.get(new NDIndex(":, {}", index));
            if (sum == null) {
                sum = part;
            } else {
                NDArray next = engine.plus(sum, part);
                Intermediates.release(sum, next);
                Intermediates.release(part, next);
                sum = next;
            }
        }
        Intermediates.release(withZero, sum);
        return sum;
    }

    /** rows (L, R, C) + the bias (1, 1, C) on every row; releases rows. */
    private static NDArray addBias(NDArray rows, NDArray biasView, SurrogateLbpAdapter engine) {
        NDArray broadcast = biasView.broadcast(rows.getShape());
        NDArray sum = engine.plus(rows, broadcast);
        Intermediates.release(broadcast, biasView);
        Intermediates.release(rows, sum);
        return sum;
    }

    /** Moves a result whose first operand is a cached array into the input's manager. */
    static NDArray local(NDArray result, NDArray input) {
        result.attach(input.getManager());
        return result;
    }
}
