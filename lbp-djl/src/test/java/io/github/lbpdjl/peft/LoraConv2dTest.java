package io.github.lbpdjl.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LoRA on a Conv2d as PEFT has it (a target list selects a convolution by name): the forward
 * against a hand computation, merge and unmerge, gradients only to A and B, PEFT's initialisation,
 * and the adapter saved and put back with fromPretrained.
 */
class LoraConv2dTest {

    private static final Shape INPUT = new Shape(2, 2, 4, 4);

    /** 0: Conv2d 2 -> 3, kernel 2x2, stride 2; 1: flatten; 2: Linear 12 -> 2. */
    private static Model model(String engine) {
        Engine.getEngine(engine).setRandomSeed(4);
        Model m = Model.newInstance("conv", engine);
        SequentialBlock net =
                new SequentialBlock()
                        .add(
                                Conv2d.builder()
                                        .setFilters(3)
                                        .setKernelShape(new Shape(2, 2))
                                        .optStride(new Shape(2, 2))
                                        .build())
                        .add(Blocks.batchFlattenBlock())
                        .add(Linear.builder().setUnits(2).build());
        net.initialize(m.getNDManager(), DataType.FLOAT32, INPUT);
        m.setBlock(net);
        return m;
    }

    private static LoraConfig convConfig() {
        return LoraConfig.builder()
                .optRank(3)
                .optAlpha(2)
                .optUseRslora(true)
                .optTargets(TargetModules.names("0"))
                .build();
    }

    private static void randomize(Parameter p, long seed) {
        Random r = new Random(seed);
        float[] v = new float[(int) p.getArray().size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        p.getArray().set(v);
    }

    private static float[] forward(Model m, NDArray x) {
        return m.getBlock()
                .forward(new ParameterStore(x.getManager(), false), new NDList(x), false)
                .singletonOrThrow()
                .toFloatArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void forwardIsTheBasePlusTheScaledAdapterAndMergeFoldsIt(String engine) {
        try (Model model = model(engine);
                NDManager m = NDManager.newBaseManager(engine)) {
            LoraModel lm = convConfig().apply(model);
            LoraConv2d c = lm.getConvLayers().get("0");
            assertInstanceOf(LoraConv2d.class, BlockTree.modules(model.getBlock()).get("0"));
            assertEquals(new Shape(3, 2, 2, 2), c.getLoraA().getShape());
            assertEquals(new Shape(3, 3, 1, 1), c.getLoraB().getShape());
            assertEquals(0, c.getLoraB().getArray().abs().sum().getFloat(), "B starts at zero");
            float bound = (float) (1 / Math.sqrt(2 * 2 * 2)); // fan_in = in x kh x kw
            float maxA = c.getLoraA().getArray().abs().max().getFloat();
            assertTrue(maxA <= bound && maxA > 0.5 * bound, "U(-1/sqrt(8), 1/sqrt(8)): " + maxA);
            assertEquals(2 / Math.sqrt(3), c.getScaling(), 1e-6);
            randomize(c.getLoraA(), 1);
            randomize(c.getLoraB(), 2);
            Engine.getEngine(engine).setRandomSeed(5);
            NDArray x = m.randomNormal(INPUT);
            float[] y =
                    c.forward(new ParameterStore(m, false), new NDList(x), false)
                            .singletonOrThrow()
                            .toFloatArray();
            float[] want = byHand(c, x.toFloatArray(), c.getScaling());
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], y[i], 1e-4 * (1 + Math.abs(want[i])), "output " + i);
            }
            float[] w0 = c.getParameters().get("weight").getArray().toFloatArray();
            float[] before = forward(model, x);
            lm.merge();
            float[] merged = forward(model, x);
            for (int i = 0; i < before.length; i++) {
                assertEquals(before[i], merged[i], 1e-4 * (1 + Math.abs(before[i])));
            }
            lm.unmerge();
            float[] w1 = c.getParameters().get("weight").getArray().toFloatArray();
            for (int i = 0; i < w0.length; i++) {
                assertEquals(w0[i], w1[i], 1e-5, "unmerge restores W0");
            }
        }
    }

    /** base conv + s * B (A * patches), in double precision. */
    private static float[] byHand(LoraConv2d c, float[] x, double s) {
        float[] w = c.getParameters().get("weight").getArray().toFloatArray();
        float[] b = c.getParameters().get("bias").getArray().toFloatArray();
        float[] a = c.getLoraA().getArray().toFloatArray();
        float[] bb = c.getLoraB().getArray().toFloatArray();
        int r = 3;
        float[] out = new float[2 * 3 * 2 * 2];
        for (int n = 0; n < 2; n++) {
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    double[] down = new double[r];
                    double[] base = new double[3];
                    for (int ch = 0; ch < 2; ch++) {
                        for (int ki = 0; ki < 2; ki++) {
                            for (int kj = 0; kj < 2; kj++) {
                                double v = x[((n * 2 + ch) * 4 + 2 * i + ki) * 4 + 2 * j + kj];
                                int k = (ch * 2 + ki) * 2 + kj;
                                for (int o = 0; o < 3; o++) {
                                    base[o] += w[o * 8 + k] * v;
                                }
                                for (int q = 0; q < r; q++) {
                                    down[q] += a[q * 8 + k] * v;
                                }
                            }
                        }
                    }
                    for (int o = 0; o < 3; o++) {
                        double up = 0;
                        for (int q = 0; q < r; q++) {
                            up += bb[o * r + q] * down[q];
                        }
                        out[((n * 3 + o) * 2 + i) * 2 + j] = (float) (base[o] + b[o] + s * up);
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void onlyTheAdapterGetsGradients(String engine) {
        try (Model model = model(engine);
                NDManager m = NDManager.newBaseManager(engine)) {
            LoraModel lm = convConfig().apply(model);
            LoraConv2d c = lm.getConvLayers().get("0");
            randomize(c.getLoraB(), 2);
            NDArray x = m.randomNormal(INPUT);
            try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                NDArray y =
                        model.getBlock()
                                .forward(new ParameterStore(m, false), new NDList(x), true)
                                .singletonOrThrow();
                gc.backward(y.square().sum());
            }
            assertTrue(c.getLoraA().getArray().getGradient().abs().sum().getFloat() > 0);
            assertTrue(c.getLoraB().getArray().getGradient().abs().sum().getFloat() > 0);
            NDArray w = c.getParameters().get("weight").getArray();
            assertTrue(
                    !w.hasGradient() || w.getGradient().abs().sum().getFloat() == 0,
                    "the base weight is frozen");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void theAdapterSavesAndComesBackWithFromPretrained(String engine, @TempDir Path dir)
            throws Exception {
        float[] adapted;
        float[] x;
        try (Model model = model(engine);
                NDManager m = NDManager.newBaseManager(engine)) {
            LoraModel lm = convConfig().apply(model);
            randomize(lm.getConvLayers().get("0").getLoraA(), 1);
            randomize(lm.getConvLayers().get("0").getLoraB(), 2);
            NDArray in = m.randomNormal(INPUT);
            x = in.toFloatArray();
            adapted = forward(model, in);
            lm.saveAdapter(dir);
        }
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(LoraModel.WEIGHTS_FILE))) {
            assertArrayEquals(
                    new long[] {3, 2, 2, 2}, f.getShape("base_model.model.0.lora_A.weight"));
            assertArrayEquals(
                    new long[] {3, 3, 1, 1}, f.getShape("base_model.model.0.lora_B.weight"));
        }
        try (Model fresh = model(engine);
                NDManager m = NDManager.newBaseManager(engine)) {
            LoraModel back = LoraModel.fromPretrained(fresh, dir);
            assertEquals(List.of("0"), List.copyOf(back.getConvLayers().keySet()));
            assertArrayEquals(adapted, forward(fresh, m.create(x, INPUT)));
            assertEquals(List.of("0"), back.unload(true));
            assertInstanceOf(Conv2d.class, BlockTree.modules(fresh.getBlock()).get("0"));
            float[] merged = forward(fresh, m.create(x, INPUT));
            for (int i = 0; i < adapted.length; i++) {
                assertEquals(adapted[i], merged[i], 1e-4 * (1 + Math.abs(adapted[i])));
            }
        }
    }

    /** PEFT refuses a LayerNorm target; so does LoRA here, naming it. */
    @Test
    void targetsThatSelectALayerNormAreRefused() {
        try (Model model = LoraModelTest.model("PyTorch")) {
            LoraConfig c =
                    LoraConfig.builder().optTargets(TargetModules.names("qkv", "norm1")).build();
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> c.apply(model));
            assertTrue(
                    e.getMessage().contains("blocks.0.norm1 (LayerNorm)")
                            && e.getMessage().contains("exclude_modules"),
                    e.getMessage());
            assertTrue(BlockTree.find(model.getBlock(), LoraLinear.class).isEmpty());
        }
    }
}
