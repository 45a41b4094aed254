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
import java.util.Random;

/** Runs one linear block forward and backward on an engine and returns everything as doubles. */
public final class LayerRun {

    public double[][][] y;
    public ReferenceLbp.Grads grads = new ReferenceLbp.Grads();

    private LayerRun() {}

    /** Random data for one case, drawn from a seed. */
    public static final class Data {
        public final double[][][] x;
        public final double[][] w;
        public final double[] b;
        public final double[][][] gy;

        public Data(long seed, int batch, int tokens, int cin, int cout) {
            Random r = new Random(seed);
            x = rand(r, batch, tokens, cin);
            w = rand(r, 1, cout, cin)[0];
            b = rand(r, 1, 1, cout)[0][0];
            gy = rand(r, batch, tokens, cout);
        }

        private static double[][][] rand(Random r, int a, int b, int c) {
            double[][][] v = new double[a][b][c];
            for (double[][] m : v) {
                for (double[] row : m) {
                    for (int i = 0; i < c; i++) {
                        row[i] = r.nextGaussian();
                    }
                }
            }
            return v;
        }
    }

    /**
     * Runs {@code block} (Linear or LbpLinear with "weight" and "bias") in training mode with loss
     * sum(y * gy), so the upstream gradient is exactly gy.
     */
    public static LayerRun run(String engine, Block block, Data d, boolean training) {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            return runIn(m, block, d, training, true);
        }
    }

    /**
     * Like {@link #run}, in a manager the caller keeps open, so that one block can run several
     * passes; gradients are cleared before the pass.
     */
    public static LayerRun runIn(
            NDManager m, Block block, Data d, boolean training, boolean initialize) {
        {
            int bs = d.x.length;
            int n = d.x[0].length;
            int cin = d.w[0].length;
            int cout = d.w.length;
            if (initialize) {
                block.initialize(m, DataType.FLOAT32, new Shape(bs, n, cin));
            } else {
                io.github.lbpdjl.engine.LbpEngineAdapter.zeroGradients(block);
            }
            NDArray wArr = block.getParameters().get("weight").getArray();
            wArr.set(flat(new double[][][] {d.w}));
            if (block.getParameters().contains("bias")) {
                block.getParameters().get("bias").getArray().set(flat(new double[][][] {{d.b}}));
            }
            NDArray x = m.create(flat(d.x), new Shape(bs, n, cin));
            x.setRequiresGradient(true);
            NDArray g = m.create(flat(d.gy), new Shape(bs, n, cout));
            LayerRun out = new LayerRun();
            try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                NDArray y =
                        block.forward(new ParameterStore(m, false), new NDList(x), training)
                                .singletonOrThrow();
                out.y = unflat(y.toFloatArray(), bs, n, cout);
                if (training) {
                    gc.backward(y.mul(g).sum());
                }
            }
            if (training) {
                out.grads.x = unflat(x.getGradient().toFloatArray(), bs, n, cin);
                out.grads.w = unflat(wArr.getGradient().toFloatArray(), 1, cout, cin)[0];
                if (block.getParameters().contains("bias")) {
                    out.grads.b =
                            unflat(
                                    block.getParameters()
                                            .get("bias")
                                            .getArray()
                                            .getGradient()
                                            .toFloatArray(),
                                    1,
                                    1,
                                    cout)[0][0];
                }
            }
            return out;
        }
    }

    public static float[] flat(double[][][] v) {
        int a = v.length;
        int b = v[0].length;
        int c = v[0][0].length;
        float[] f = new float[a * b * c];
        for (int i = 0; i < a; i++) {
            for (int j = 0; j < b; j++) {
                for (int k = 0; k < c; k++) {
                    f[(i * b + j) * c + k] = (float) v[i][j][k];
                }
            }
        }
        return f;
    }

    public static double[][][] unflat(float[] f, int a, int b, int c) {
        double[][][] v = new double[a][b][c];
        for (int i = 0; i < a; i++) {
            for (int j = 0; j < b; j++) {
                for (int k = 0; k < c; k++) {
                    v[i][j][k] = f[(i * b + j) * c + k];
                }
            }
        }
        return v;
    }
}
