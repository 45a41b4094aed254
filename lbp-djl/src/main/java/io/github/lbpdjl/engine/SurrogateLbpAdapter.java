package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.ndarray.Intermediates;

/**
 * The LBP-WHT surrogate forward written with plain NDArray operations.
 *
 * <p>With Q the coefficient matrix (M x N) and Qs^T the scaled spreading matrix (N x M):
 *
 * <pre>
 *   z = f(Q x)                       the layer on the M projected rows per sample
 *   d = z - sg(z)                    exactly zero in value, carries z's gradients
 *   c = [Qs^T | 1] [d ; b]           value: the bias broadcast over tokens
 *   y = f_frozen(sg(x)) + c          value: f(x) + b, exactly
 * </pre>
 *
 * Autograd differentiates only d and b: the weight gets {@code (Qs gy)^T (Q x)}, x gets {@code Q^T
 * (Qs gy) W}, the bias gets the exact sum of gy (from the ones column), as docs/METHOD.md requires;
 * the full-size input x is used only detached. Engines differ in how c is added: on PyTorch it is
 * passed as the full-shape bias of a 2-D linear call, so that the GEMM adds it (one pass, no
 * separate bias reduction in backward); elsewhere it is a separate addition.
 *
 * <p>With reflect padding on a padded grid the coefficients of x (reflect-folded) and the map back
 * to x (cropped) differ, so z is the sum of a weight-gradient part {@code f(Q sg(x))} and an
 * input-gradient part {@code f_frozen(Q_crop x)}.
 *
 * <p>Q and Qs^T are applied per patch ({@link FactoredProjection}: O(k N C) work) or, for small
 * ones, as dense matrices (O(M N C) work, fewer operations); {@link ProjectionForms} decides.
 */
public abstract class SurrogateLbpAdapter implements LbpEngineAdapter {

    private final String engineName;
    private final boolean fuseIntoLinear;

    /**
     * Creates an adapter.
     *
     * @param engineName the engine it serves
     * @param fuseIntoLinear whether the correction term may be passed as the full-shape bias of a
     *     2-D linear call (PyTorch's addmm)
     */
    protected SurrogateLbpAdapter(String engineName, boolean fuseIntoLinear) {
        this.engineName = engineName;
        this.fuseIntoLinear = fuseIntoLinear;
    }

    /**
     * Adds two arrays of the same shape; an engine may override it with an addition whose backward
     * keeps neither operand.
     *
     * @param a an array
     * @param b an array of the same shape
     * @return a + b
     */
    protected NDArray plus(NDArray a, NDArray b) {
        return a.add(b);
    }

    /**
     * Subtracts two arrays of the same shape; an engine may override it with a subtraction whose
     * backward keeps neither operand.
     *
     * @param a an array
     * @param b an array of the same shape
     * @return a - b
     */
    protected NDArray minus(NDArray a, NDArray b) {
        return a.sub(b);
    }

    /**
     * Pads a grid (L, H, W, C) with zeros: {@code top} rows above, {@code bottom} below, {@code
     * left} columns on the left, {@code right} on the right. This one concatenates zero arrays; an
     * engine may override it with a padding operation.
     *
     * @param grid the grid
     * @param top rows above
     * @param bottom rows below
     * @param left columns on the left
     * @param right columns on the right
     * @return the padded grid (L, H + top + bottom, W + left + right, C)
     */
    protected NDArray padGrid(NDArray grid, int top, int bottom, int left, int right) {
        NDArray rows = padAxis(grid, 1, top, bottom);
        NDArray out = padAxis(rows, 2, left, right);
        if (rows != grid && rows != out) {
            Intermediates.release(rows);
        }
        return out;
    }

    private static NDArray padAxis(NDArray a, int axis, int before, int after) {
        if (before == 0 && after == 0) {
            return a;
        }
        NDList parts = new NDList();
        NDList zeros = new NDList();
        for (int n : new int[] {before, -1, after}) {
            if (n < 0) {
                parts.add(a);
            } else if (n > 0) {
                long[] shape = a.getShape().getShape();
                shape[axis] = n;
                NDArray z = a.getManager().zeros(new Shape(shape), a.getDataType());
                parts.add(z);
                zeros.add(z);
            }
        }
        NDArray out = NDArrays.concat(parts, axis);
        Intermediates.release(zeros, new NDList());
        return out;
    }

    /**
     * Moves the result of an operation whose first operand is a projection array into the input's
     * manager: DJL puts a result in its first operand's manager, and the projection arrays live as
     * long as the model (a layer's projection cache).
     */
    private static NDArray local(NDArray result, NDArray input) {
        return FactoredProjection.local(result, input);
    }

    /** {@inheritDoc} */
    @Override
    public String getEngineName() {
        return engineName;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Every array this method creates other than y is released before it returns ({@link
     * Intermediates}): autograd keeps what backward needs (the projection matrices and the M
     * coefficient rows), not the output-sized correction, the frozen output or the detached input.
     */
    @Override
    public NDArray forward(NDArray x, TokenwiseLinear f, NDArray bias, ProjectionArrays p) {
        long batch = x.getShape().get(0);
        long tokens = x.getShape().get(1);
        boolean dense = ProjectionForms.isDense(p.getProjection());
        NDArray xd = x.stopGradient();
        NDArray z;
        if (p.isSymmetric()) {
            NDArray qx = coefficients(x, p, false, dense);
            z = f.apply(qx);
            Intermediates.release(qx, z);
        } else {
            NDArray qx = coefficients(xd, p, true, dense);
            NDArray zw = f.apply(qx);
            Intermediates.release(qx, zw);
            NDArray sx = coefficients(x, p, false, dense);
            NDArray zx = f.applyFrozen(sx, null);
            Intermediates.release(sx, zx);
            z = plus(zw, zx);
            Intermediates.release(zw);
            Intermediates.release(zx);
        }
        NDArray zd = z.stopGradient();
        NDArray d = minus(z, zd);
        Intermediates.release(zd);
        Intermediates.release(z);
        long units = d.getShape().get(d.getShape().dimension() - 1);
        NDArray correction =
                dense
                        ? denseSpread(d, bias, p, x)
                        : FactoredProjection.spread(d, bias, p, batch, this);
        Intermediates.release(d);
        NDArray y;
        if (fuseIntoLinear) {
            NDArray flat = xd.reshape(batch * tokens, x.getShape().get(2));
            NDArray flatCorrection = correction.reshape(batch * tokens, units);
            NDArray flatY = f.applyFrozen(flat, flatCorrection);
            y = flatY.reshape(batch, tokens, units);
            Intermediates.release(flatY, y);
            Intermediates.release(flatCorrection, y);
            Intermediates.release(flat, y);
        } else {
            NDArray frozen = f.applyFrozen(xd, null);
            y = plus(frozen, correction);
            Intermediates.release(frozen, y);
        }
        Intermediates.release(correction, y);
        Intermediates.release(xd, x, y);
        return y;
    }

    /** Q x (folded: reflect-padded) or the cropping Q x, dense or per patch. */
    private NDArray coefficients(NDArray x, ProjectionArrays p, boolean folded, boolean dense) {
        if (dense) {
            NDArray q = folded || p.isSymmetric() ? p.getGather() : p.getScatter();
            return local(q.matMul(x), x);
        }
        return FactoredProjection.coefficients(x, p, folded, this);
    }

    /** [Qs^T | 1] [d ; b] with the dense matrices. */
    private static NDArray denseSpread(NDArray d, NDArray bias, ProjectionArrays p, NDArray x) {
        if (bias == null) {
            return local(p.getSpreadT().matMul(d), x);
        }
        long batch = d.getShape().get(0);
        long units = d.getShape().get(2);
        NDArray biasView = bias.reshape(1, 1, units);
        biasView.attach(x.getManager()); // made from a parameter: else the model's manager keeps it
        NDArray biasRow = biasView.broadcast(batch, 1, units);
        NDArray rows = NDArrays.concat(new NDList(d, biasRow), 1);
        NDArray correction = local(p.getSpreadTWithOnes().matMul(rows), x);
        Intermediates.release(rows);
        Intermediates.release(biasRow, bias);
        Intermediates.release(biasView, bias);
        return correction;
    }
}
