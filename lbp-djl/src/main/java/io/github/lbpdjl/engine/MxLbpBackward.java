package io.github.lbpdjl.engine;

import ai.djl.mxnet.jna.JnaUtils;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.wht.PatchProjection;

/**
 * LBP-WHT on MXNet with a backward of its own ({@link MxCustomFunction}) for a plain map {@code x
 * W^T}: the forward computes y exactly without recording and keeps only the projected coefficients
 * of x; the backward computes, with u the coefficients of the output gradient (its extra-token rows
 * copied, its grid rows projected onto the kept bases per patch):
 *
 * <pre>
 *   grad W = (u / p^2)^T (Q x)      the k / 64 sized product of the weight gradient
 *   grad x = spread(u W)            the input gradient, spread back to the tokens (cropped)
 *   grad b = sum of gy              exact
 * </pre>
 *
 * the same gradients as the surrogate (the folded Q for the weight and the output gradient with
 * reflect padding, the cropping one for the input), without its extra products in the forward or
 * the full-size arrays autograd kept for them. With the dense matrices: {@code gz = Qs gy}, {@code
 * grad W = gz^T (Q x)}, {@code grad x = Q_in^T (gz W)}.
 */
final class MxLbpBackward {

    private MxLbpBackward() {}

    /**
     * Runs one training forward of an LBP layer with the custom backward; autograd must be
     * recording.
     *
     * @param x the tokens (L, N, C_in)
     * @param weight W (C_out, C_in), as the map uses it
     * @param bias the bias (C_out) or null
     * @param p the projection arrays
     * @param engine the adapter (padding, additions)
     * @return y (L, N, C_out), exact
     */
    static NDArray forward(
            NDArray x, NDArray weight, NDArray bias, ProjectionArrays p, MxLbpAdapter engine) {
        boolean dense = ProjectionForms.isDense(p.getProjection());
        NDArray y;
        NDArray qx;
        boolean recording = JnaUtils.autogradSetIsRecording(false);
        try {
            y = linear(x, weight, bias);
            qx = coefficients(x, p, !p.isSymmetric(), dense, engine);
            if (!dense) {
                qx = scaleGridRows(qx, p, x.getShape().get(0));
            }
        } finally {
            JnaUtils.autogradSetIsRecording(recording);
        }
        NDArray saved = qx;
        saved.detach(); // freed with the node (MXNet deletes it when the graph goes)
        // the layer may free its handle on W (a view of a 1x1 kernel) before backward
        NDArray w = MxCustomFunction.view(weight);
        NDList inputs = bias == null ? new NDList(x, weight) : new NDList(x, weight, bias);
        MxCustomFunction.record(
                inputs,
                new NDList(y),
                new MxCustomFunction.Backward() {
                    @Override
                    public NDList run(NDList outputGrads, NDManager manager) {
                        return backward(
                                outputGrads.singletonOrThrow(),
                                saved,
                                w,
                                bias != null,
                                p,
                                dense,
                                engine);
                    }

                    @Override
                    public void release() {
                        saved.close();
                        w.close();
                    }
                });
        return y;
    }

    private static NDArray local(NDArray result, NDArray input) {
        return FactoredProjection.local(result, input);
    }

    private static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        return ai.djl.nn.core.Linear.linear(x, weight, bias).singletonOrThrow();
    }

    private static NDList backward(
            NDArray gy,
            NDArray qx,
            NDArray weight,
            boolean hasBias,
            ProjectionArrays p,
            boolean dense,
            MxLbpAdapter engine) {
        long batch = gy.getShape().get(0);
        long in = weight.getShape().get(1);
        long out = weight.getShape().get(0);
        NDArray gradW;
        NDArray gradX;
        // every result goes to gy's manager (the callback's): DJL puts a result in its first
        // operand's, and the projection arrays, the saved rows and W live longer
        NDArray qxRows = local(qx.reshape(-1, in), gy);
        if (dense) {
            NDArray gz = local(p.getSpreadT().transpose(), gy).matMul(gy); // (L, M, C_out)
            gradW = gz.reshape(-1, out).transpose().matMul(qxRows);
            NDArray q = p.isSymmetric() ? p.getGather() : p.getScatter();
            NDArray gzw = gz.reshape(-1, out).matMul(weight).reshape(batch, -1, in); // 2-D GEMM
            gradX = local(q.transpose(), gy).matMul(gzw);
        } else {
            NDArray u =
                    FactoredProjection.coefficients(gy, p, p.getProjection().isFolded(), engine);
            gradW = u.transpose().matMul(qxRows);
            gradX = FactoredProjection.spread(u.matMul(weight), null, p, batch, engine, true);
        }
        NDList grads = new NDList(gradX, gradW);
        if (hasBias) {
            // a product with a row of ones: MXNet's sum over leading axes runs on one thread
            NDArray rows = gy.reshape(-1, out);
            NDArray ones =
                    gy.getManager().ones(new Shape(1, rows.getShape().get(0)), gy.getDataType());
            grads.add(ones.matMul(rows).reshape(out));
        }
        return grads;
    }

    /** Q x (folded: reflect-padded) or the cropping Q x, dense (L, M, C) or per patch (R, C). */
    private static NDArray coefficients(
            NDArray x, ProjectionArrays p, boolean folded, boolean dense, MxLbpAdapter engine) {
        if (dense) {
            NDArray q = folded || p.isSymmetric() ? p.getGather() : p.getScatter();
            return FactoredProjection.local(q.matMul(x), x);
        }
        return FactoredProjection.coefficients(x, p, folded, engine);
    }

    /** Per-patch coefficient rows with the grid rows divided by p^2 (the extra rows kept). */
    private static NDArray scaleGridRows(NDArray rows, ProjectionArrays p, long batch) {
        PatchProjection pr = p.getProjection();
        long extraRows = batch * pr.getLayout().getExtraTokens();
        float scale = 1f / (pr.getPatchSize() * pr.getPatchSize());
        NDArray scaled;
        if (extraRows == 0) {
            scaled = rows.mul(scale);
        } else {
            NDArray grid = rows.get(new NDIndex("{}:", extraRows)).mul(scale);
            NDArray extra = rows.get(new NDIndex(":{}", extraRows));
            scaled = extra.concat(grid, 0);
            Intermediates.release(grid, scaled);
            Intermediates.release(extra, scaled);
        }
        Intermediates.release(rows, scaled);
        return scaled;
    }
}
