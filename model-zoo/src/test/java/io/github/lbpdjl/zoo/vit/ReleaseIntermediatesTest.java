package io.github.lbpdjl.zoo.vit;

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
import ai.djl.training.loss.Loss;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.engine.MxLbpAdapter;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.peft.LoraConfig;
import io.github.lbpdjl.peft.LoraLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Releasing forward intermediates early (zoo blocks, LbpLinear, LoRA + LBP-WHT) changes neither the
 * loss nor any parameter gradient of a ViT, bit for bit, on both engines, with memory reused in
 * between forward and backward; and it does release: the batch's manager holds far fewer arrays.
 */
class ReleaseIntermediatesTest {

    private static final String LIVE = "#arrays held after forward";

    @ParameterizedTest
    @CsvSource({"PyTorch, lbp", "MXNet, lbp", "PyTorch, lora+lbp", "MXNet, lora+lbp"})
    void releasingChangesNeitherLossNorGradients(String engine, String mode) {
        // the surrogate backward's intermediates (MXNet's own backward makes fewer: see below)
        MxLbpAdapter.setCustomBackward(false);
        Map<String, float[]> kept;
        Map<String, float[]> released;
        try {
            kept = run(engine, mode, false);
            released = run(engine, mode, true);
        } finally {
            MxLbpAdapter.setCustomBackward(true);
        }
        assertEquals(kept.keySet(), released.keySet());
        int compared = 0;
        for (Map.Entry<String, float[]> e : kept.entrySet()) {
            if (e.getKey().equals(LIVE)) {
                continue;
            }
            assertArrayEquals(
                    e.getValue(), released.get(e.getKey()), 0f, engine + " " + e.getKey());
            compared++;
        }
        // lbp: loss + 4 top-level parameters + 12 per block (2 blocks) + norm (2) + head (2);
        // lora+lbp: loss + lora_A and lora_B of 4 layers in 2 blocks + head (2)
        assertEquals(
                mode.equals("lbp") ? 1 + 4 + 24 + 2 + 2 : 1 + 16 + 2,
                compared,
                "loss and every parameter gradient compared");
        float keptArrays = kept.get(LIVE)[0];
        float releasedArrays = released.get(LIVE)[0];
        assertTrue(
                releasedArrays < keptArrays / 3,
                engine
                        + ": arrays held after forward, released "
                        + releasedArrays
                        + " vs kept "
                        + keptArrays);
    }

    @Test
    void mxnetsOwnBackwardHoldsNoMoreArraysThanTheSurrogate() {
        MxLbpAdapter.setCustomBackward(false);
        float surrogate;
        try {
            surrogate = run("MXNet", "lbp", true).get(LIVE)[0];
        } finally {
            MxLbpAdapter.setCustomBackward(true);
        }
        Map<String, float[]> custom = run("MXNet", "lbp", true);
        assertTrue(
                custom.get(LIVE)[0] <= surrogate,
                "held after forward: " + custom.get(LIVE)[0] + " vs " + surrogate);
        assertTrue(MxLbpAdapter.isCustomBackward());
    }

    /** Loss, gradients by parameter name and the number of arrays held after forward. */
    private static Map<String, float[]> run(String engine, String mode, boolean release) {
        boolean before = Intermediates.isEnabled();
        Intermediates.setEnabled(release);
        try (Model model = Model.newInstance("release", Device.cpu(), engine)) {
            VisionTransformer vit =
                    VisionTransformer.builder()
                            .setImageSize(16)
                            .setPatchSize(2) // 8 x 8 grid + class token: one LBP patch
                            .setEmbedDim(16)
                            .setDepth(2)
                            .setNumHeads(2)
                            .optMlpRatio(2)
                            .optNumClasses(3)
                            .optInChannels(1)
                            .build();
            model.setBlock(vit);
            Engine.getEngine(engine).setRandomSeed(1);
            vit.initialize(model.getNDManager());
            LbpConfig lp2 =
                    LbpConfig.builder()
                            .optSelection(BasisSelection.lowPassL1(2))
                            .optLayout(TokenLayout.of(vit))
                            .build();
            if (mode.equals("lbp")) {
                // the second block's linear layers become LbpLinear, the first's stay Linear
                LbpRewriter.builder()
                        .optTargets(
                                TargetModules.regex(
                                        "blocks\\.1\\."
                                                + "(attn\\.qkv|attn\\.proj|mlp\\.fc1|mlp\\.fc2)"))
                        .optConfig(lp2)
                        .build()
                        .apply(vit);
                assertTrue(vit.getModule("blocks.1.mlp.fc1") instanceof LbpLinear);
            } else {
                // LoRA + LBP-WHT on every block's linear layers, base frozen, head trained
                LoraConfig.builder()
                        .optRank(2)
                        .optAlpha(4)
                        .optLbp(lp2)
                        .optModulesToSave("head")
                        .build()
                        .apply(model);
                assertTrue(vit.getModule("blocks.0.mlp.fc1") instanceof LoraLinear);
            }
            Random rng = new Random(11);
            for (Parameter p : vit.timmParameters().values()) {
                float[] v = new float[(int) p.getArray().size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (rng.nextGaussian() * 0.3);
                }
                p.getArray().set(v); // lora_B too: a zero B would make lora_A's gradient zero
            }
            float[] img = new float[4 * 16 * 16];
            for (int i = 0; i < img.length; i++) {
                img[i] = (float) rng.nextGaussian();
            }
            Map<String, float[]> out = new LinkedHashMap<>();
            NDManager m = model.getNDManager();
            try (NDManager batch = m.newSubManager()) {
                // engine-made copies: the test closes nothing made from Java data
                NDArray x = batch.create(img, vit.getInputShape(4)).duplicate();
                NDArray labels = batch.create(new float[] {0, 1, 2, 1}).duplicate();
                try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                    NDArray logits =
                            vit.forward(new ParameterStore(batch, false), new NDList(x), true)
                                    .singletonOrThrow();
                    NDArray loss =
                            Loss.softmaxCrossEntropyLoss()
                                    .evaluate(new NDList(labels), new NDList(logits));
                    loss.getFloat(); // wait for asynchronous engines before counting
                    out.put(LIVE, new float[] {batch.getManagedArrays().size()});
                    reuseFreedMemory(m);
                    gc.backward(loss);
                    out.put("loss", new float[] {loss.getFloat()});
                }
            }
            for (Map.Entry<String, Parameter> e : vit.timmParameters().entrySet()) {
                if (!e.getValue().requiresGradient()) {
                    continue;
                }
                try (NDArray g = e.getValue().getArray().getGradient()) {
                    out.put(e.getKey(), g.toFloatArray());
                }
            }
            return out;
        } finally {
            Intermediates.setEnabled(before);
        }
    }

    /**
     * Collects garbage and fills newly allocated arrays of the activations' sizes, so that memory
     * freed too early (while backward still needs it) would hold other values by backward.
     */
    private static void reuseFreedMemory(NDManager m) {
        System.gc();
        List<NDArray> junk = new ArrayList<>();
        try (NDManager scratch = m.newSubManager()) {
            for (int i = 0; i < 64; i++) {
                junk.add(
                        scratch.randomNormal(new Shape(4, 65, 32))
                                .mul(scratch.full(new Shape(), 1e6f)));
                junk.add(scratch.randomNormal(new Shape(4, 2, 65, 65)));
            }
            for (NDArray j : junk) {
                j.max().getFloat();
            }
        }
        System.gc();
    }
}
