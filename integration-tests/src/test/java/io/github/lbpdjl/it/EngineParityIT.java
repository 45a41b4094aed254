package io.github.lbpdjl.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.engine.LbpEngines;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The same LBP model, weights and batch give the same loss and gradients on PyTorch and MXNet. */
class EngineParityIT {

    static final Shape INPUT = new Shape(4, TinyTransformer.TOKENS, 3);

    /** Runs forward + backward twice on one engine; returns the loss and the gradients by name. */
    static Map<String, float[]> run(String engine, byte[] params, float[] x, float[] labels)
            throws Exception {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            Block block = TinyTransformer.create();
            block.initialize(m, DataType.FLOAT32, INPUT);
            block.loadParameters(m, new DataInputStream(new ByteArrayInputStream(params)));
            block.freezeParameters(false); // loaded arrays carry no gradient until unfrozen
            LbpRewriter.builder()
                    .optConfig(
                            LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build())
                    .optLayout(TokenLayout.grid(1, 8, 8))
                    .build()
                    .apply(block);
            Map<String, float[]> out = new LinkedHashMap<>();
            for (int round = 0; round < 2; round++) {
                // PyTorch accumulates gradients across backward calls, MXNet overwrites them
                LbpEngines.forEngine(engine).clearGradients(block);
                try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                    NDArray pred =
                            block.forward(
                                            new ParameterStore(m, false),
                                            new NDList(m.create(x, INPUT)),
                                            true)
                                    .singletonOrThrow();
                    NDArray loss =
                            Loss.softmaxCrossEntropyLoss()
                                    .evaluate(new NDList(m.create(labels)), new NDList(pred));
                    gc.backward(loss);
                    out.put("loss", new float[] {loss.getFloat()});
                }
            }
            for (Pair<String, Parameter> p : block.getParameters()) {
                try {
                    out.put(p.getKey(), p.getValue().getArray().getGradient().toFloatArray());
                } catch (IllegalStateException e) {
                    throw new IllegalStateException(engine + ": no gradient for " + p.getKey(), e);
                }
            }
            return out;
        }
    }

    static byte[] initialParameters() throws IOException {
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            Engine.getEngine("PyTorch").setRandomSeed(3);
            Block block = TinyTransformer.create();
            block.initialize(m, DataType.FLOAT32, INPUT);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            block.saveParameters(new DataOutputStream(bytes));
            return bytes.toByteArray();
        }
    }

    @Test
    void sameLossAndGradientsOnBothEngines() throws Exception {
        byte[] params = initialParameters();
        Random r = new Random(5);
        float[] x = new float[(int) INPUT.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] labels = {0, 1, 2, 3};
        Map<String, float[]> pt = run("PyTorch", params, x, labels);
        Map<String, float[]> mx = run("MXNet", params, x, labels);
        assertEquals(pt.keySet(), mx.keySet());
        int checked = 0;
        for (Map.Entry<String, float[]> e : pt.entrySet()) {
            float[] a = e.getValue();
            float[] b = mx.get(e.getKey());
            double maxDiff = 0;
            // relative to the tensor's largest entry; gradients that are zero in exact arithmetic
            // (a key projection's bias under softmax) are float noise: 1e-7 absolute for those
            double scale = 1e-3;
            for (int i = 0; i < a.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
                scale = Math.max(scale, Math.abs(a[i]));
            }
            assertTrue(
                    maxDiff <= 1e-4 * scale,
                    e.getKey() + ": max difference " + maxDiff + " vs scale " + scale);
            checked++;
        }
        assertTrue(checked > 20, "loss and every parameter gradient compared: " + checked);
    }
}
