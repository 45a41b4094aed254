package io.github.lbpdjl.zoo.efficientformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.EfficientFormerWeights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Releasing forward intermediates changes neither the loss nor any gradient, bit for bit, with
 * freed memory reused before backward; the batch's manager holds far fewer arrays; and the model's
 * manager does not grow from one training step to the next.
 */
class EfficientFormerReleaseTest {

    private static final String HELD = "#arrays held after forward";
    private static final String GROWTH = "#model arrays added by steps 2 and 3";

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void releasingChangesNothingAndLeaksNothing(String engine) throws Exception {
        Map<String, float[]> kept = run(engine, false);
        Map<String, float[]> released = run(engine, true);
        assertEquals(kept.keySet(), released.keySet());
        for (Map.Entry<String, float[]> e : kept.entrySet()) {
            if (!e.getKey().startsWith("#")) {
                assertArrayEquals(
                        e.getValue(), released.get(e.getKey()), 0f, engine + " " + e.getKey());
            }
        }
        float keptArrays = kept.get(HELD)[0];
        float releasedArrays = released.get(HELD)[0];
        assertTrue(
                releasedArrays < keptArrays / 3,
                engine + ": arrays held, released " + releasedArrays + " vs kept " + keptArrays);
        assertEquals(0f, released.get(GROWTH)[0], engine + ": the model's manager grows");
        assertEquals(0f, kept.get(GROWTH)[0], engine + ": the model's manager grows");
    }

    private static Map<String, float[]> run(String engine, boolean release) throws Exception {
        boolean before = Intermediates.isEnabled();
        Intermediates.setEnabled(release);
        TimmFixture f = new TimmFixture(TimmFixture.TINY2);
        EfficientFormer model = f.builder().build();
        Map<String, float[]> out = new LinkedHashMap<>();
        try (Model m = Model.newInstance("ef", Device.cpu(), engine)) {
            m.setBlock(model);
            model.initialize(m.getNDManager());
            EfficientFormerWeights.load(model, f.weights);
            NDManager mm = m.getNDManager();
            int afterFirst = 0;
            for (int step = 0; step < 3; step++) {
                try (NDManager batch = mm.newSubManager()) {
                    // engine-made copies: the test closes nothing made from Java data
                    NDArray x =
                            batch.create(f.get("input"), model.getInputShape(f.batch)).duplicate();
                    NDArray target =
                            batch.create(f.get("target"), new Shape(f.batch, 3)).duplicate();
                    try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                        NDArray logits =
                                model.forward(new ParameterStore(batch, false), new NDList(x), true)
                                        .singletonOrThrow();
                        NDArray loss = logits.mul(target).sum();
                        loss.getFloat(); // wait for asynchronous engines before counting
                        if (step == 0) {
                            out.put(HELD, new float[] {batch.getManagedArrays().size()});
                            reuseFreedMemory(mm);
                        }
                        gc.backward(loss);
                        if (step == 0) {
                            out.put("loss", new float[] {loss.getFloat()});
                        }
                    }
                }
                if (step == 0) {
                    for (Map.Entry<String, Parameter> e : model.timmParameters().entrySet()) {
                        if (e.getValue().requiresGradient()) {
                            try (NDArray g = e.getValue().getArray().getGradient()) {
                                out.put(e.getKey(), g.toFloatArray());
                            }
                        }
                    }
                    afterFirst = mm.getManagedArrays().size();
                }
            }
            out.put(GROWTH, new float[] {mm.getManagedArrays().size() - afterFirst});
        } finally {
            Intermediates.setEnabled(before);
        }
        return out;
    }

    /** Garbage collected and fresh arrays written, so that memory freed too early would show. */
    private static void reuseFreedMemory(NDManager m) {
        System.gc();
        List<NDArray> junk = new ArrayList<>();
        try (NDManager scratch = m.newSubManager()) {
            for (int i = 0; i < 32; i++) {
                junk.add(
                        scratch.randomNormal(new Shape(2, 8, 14, 14))
                                .mul(scratch.full(new Shape(), 1e6f)));
                junk.add(scratch.randomNormal(new Shape(2, 8, 49, 49)));
            }
            for (NDArray j : junk) {
                j.max().getFloat();
            }
        }
        System.gc();
    }
}
