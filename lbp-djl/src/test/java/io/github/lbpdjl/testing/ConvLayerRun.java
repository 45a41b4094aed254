package io.github.lbpdjl.testing;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.engine.LbpEngineAdapter;

/**
 * Runs one 1x1 convolution block (Conv2d or LbpConv2d, "weight" (C_out, C_in, 1, 1) and "bias")
 * forward and backward on an engine, on the data of a {@link LayerRun.Data} laid out as a feature
 * map: token t = i * W + j of the data is position (i, j) of the map, so that the results, given
 * back as tokens (B, H*W, C) and doubles, compare directly with {@link ReferenceLbp}.
 */
public final class ConvLayerRun {

    public double[][][] y;
    public ReferenceLbp.Grads grads = new ReferenceLbp.Grads();

    private ConvLayerRun() {}

    /** Runs {@code block} on an H x W map with loss sum(y * gy), in a fresh manager. */
    public static ConvLayerRun run(
            String engine, Block block, LayerRun.Data d, int h, int w, boolean training) {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            return runIn(m, block, d, h, w, training, true);
        }
    }

    /** Like {@link #run}, in a manager the caller keeps open; gradients are cleared first. */
    public static ConvLayerRun runIn(
            NDManager m,
            Block block,
            LayerRun.Data d,
            int h,
            int w,
            boolean training,
            boolean initialize) {
        int bs = d.x.length;
        int cin = d.w[0].length;
        int cout = d.w.length;
        Shape in = new Shape(bs, cin, h, w);
        if (initialize) {
            block.initialize(m, DataType.FLOAT32, in);
        } else {
            LbpEngineAdapter.zeroGradients(block);
        }
        NDArray wArr = block.getParameters().get("weight").getArray();
        wArr.set(LayerRun.flat(new double[][][] {d.w}));
        boolean hasBias = block.getParameters().contains("bias");
        if (hasBias) {
            block.getParameters()
                    .get("bias")
                    .getArray()
                    .set(LayerRun.flat(new double[][][] {{d.b}}));
        }
        NDArray x = m.create(toMap(d.x, h, w), in);
        x.setRequiresGradient(true);
        NDArray g = m.create(toMap(d.gy, h, w), new Shape(bs, cout, h, w));
        ConvLayerRun out = new ConvLayerRun();
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
            NDArray y =
                    block.forward(new ParameterStore(m, false), new NDList(x), training)
                            .singletonOrThrow();
            out.y = toTokens(y.toFloatArray(), bs, cout, h, w);
            if (training) {
                gc.backward(y.mul(g).sum());
            }
        }
        if (training) {
            out.grads.x = toTokens(x.getGradient().toFloatArray(), bs, cin, h, w);
            out.grads.w = LayerRun.unflat(wArr.getGradient().toFloatArray(), 1, cout, cin)[0];
            if (hasBias) {
                NDArray gb = block.getParameters().get("bias").getArray().getGradient();
                out.grads.b = LayerRun.unflat(gb.toFloatArray(), 1, 1, cout)[0][0];
            }
        }
        return out;
    }

    /** Tokens (B, H*W, C) to a flat feature map (B, C, H, W). */
    public static float[] toMap(double[][][] tokens, int h, int w) {
        int bs = tokens.length;
        int c = tokens[0][0].length;
        float[] f = new float[bs * c * h * w];
        for (int b = 0; b < bs; b++) {
            for (int t = 0; t < h * w; t++) {
                for (int k = 0; k < c; k++) {
                    f[(b * c + k) * h * w + t] = (float) tokens[b][t][k];
                }
            }
        }
        return f;
    }

    /** A flat feature map (B, C, H, W) to tokens (B, H*W, C). */
    public static double[][][] toTokens(float[] map, int bs, int c, int h, int w) {
        double[][][] v = new double[bs][h * w][c];
        for (int b = 0; b < bs; b++) {
            for (int t = 0; t < h * w; t++) {
                for (int k = 0; k < c; k++) {
                    v[b][t][k] = map[(b * c + k) * h * w + t];
                }
            }
        }
        return v;
    }
}
