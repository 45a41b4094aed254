package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;

import io.github.lbpdjl.nn.TokenwiseLinear;

/**
 * The LBP-WHT surrogate forward written with plain NDArray operations; engines differ only in
 * which of its two equivalent forms is fast and correct for them.
 *
 * <p>With Q the coefficient matrix and Qs^T the scaled spreading matrix, the gradient-carrying
 * term is {@code T = Qs^T f(Q x)}; the value is completed with a term that autograd does not
 * differentiate except for the bias:
 *
 * <ul>
 *   <li>input residual: {@code y = T + f_frozen(sg(x) - Qs^T sg(Q x)) + b}: one full matmul and
 *       elementwise work on C_in; the bias can be fused into the frozen linear call;
 *   <li>output residual: {@code y = T + (f_frozen(sg(x)) - sg(T)) + b}.
 * </ul>
 *
 * <p>With reflect padding on a padded grid the coefficients of x (reflect-folded) and the map
 * back to x (cropped) differ, so T is split into a weight-gradient and an input-gradient part and
 * the output residual is used.
 */
public class SurrogateLbpAdapter implements LbpEngineAdapter {

    private final String engineName;
    private final boolean inputResidual;
    private final boolean fuseBias;

    /**
     * Creates an adapter.
     *
     * @param engineName the engine it serves
     * @param inputResidual whether to complete the value on the input side
     * @param fuseBias whether the bias may be added inside the frozen linear call
     */
    protected SurrogateLbpAdapter(String engineName, boolean inputResidual, boolean fuseBias) {
        this.engineName = engineName;
        this.inputResidual = inputResidual;
        this.fuseBias = fuseBias;
    }

    /** {@inheritDoc} */
    @Override
    public String getEngineName() {
        return engineName;
    }

    /** {@inheritDoc} */
    @Override
    public NDArray forward(NDArray x, TokenwiseLinear f, NDArray bias, ProjectionArrays p) {
        NDArray q = p.getGather();
        NDArray spreadT = p.getSpreadT();
        NDArray xd = x.stopGradient();
        if (!p.isSymmetric()) {
            NDArray coeffs = f.apply(q.matMul(xd)).add(f.applyFrozen(p.getScatter().matMul(x), null));
            NDArray t = spreadT.matMul(coeffs);
            return addBias(t.add(f.applyFrozen(xd, null).sub(t.stopGradient())), bias);
        }
        NDArray qx = q.matMul(x);
        NDArray t = spreadT.matMul(f.apply(qx));
        if (inputResidual) {
            NDArray residual = xd.sub(spreadT.matMul(qx.stopGradient()));
            if (fuseBias) {
                return t.add(f.applyFrozen(residual, bias));
            }
            return addBias(t.add(f.applyFrozen(residual, null)), bias);
        }
        return addBias(t.add(f.applyFrozen(xd, null).sub(t.stopGradient())), bias);
    }

    private static NDArray addBias(NDArray y, NDArray bias) {
        return bias == null ? y : y.add(bias);
    }
}
