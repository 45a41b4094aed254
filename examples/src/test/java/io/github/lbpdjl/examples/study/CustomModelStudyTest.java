package io.github.lbpdjl.examples.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.examples.adapt.TinyIdx;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.RewriteReport;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** LBP-WHT on the study's user-written model, and a tiny run of the study itself. */
class CustomModelStudyTest {

    private static final int BATCH = 4;

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void allBasesGiveFullBackpropGradientsAndLowPassDoesNot(String engine) {
        Map<String, float[]> weights = initialWeights(engine, 32, 2);
        Map<String, float[]> full = gradients(engine, weights, null);
        Map<String, float[]> all = gradients(engine, weights, BasisSelection.all());
        Map<String, float[]> lp2 = gradients(engine, weights, BasisSelection.lowPassL1(2));
        assertEquals(full.keySet(), all.keySet());
        for (String p : full.keySet()) {
            double scale = Math.max(1, maxAbs(full.get(p)));
            assertTrue(
                    maxDiff(full.get(p), all.get(p)) <= 1e-5 * scale,
                    p
                            + ": all 64 bases (zero padding) must equal full backprop, off by "
                            + maxDiff(full.get(p), all.get(p)));
        }
        for (String p : List.of("3.0.0.1.qkv.weight", "3.0.0.1.proj.weight", "3.1.0.1.weight")) {
            double rel = maxDiff(full.get(p), lp2.get(p)) / maxAbs(full.get(p));
            assertTrue(rel > 1e-2, p + ": LP_L1-2 must differ from full backprop, " + rel);
        }
        // the last fc2's output gradient comes from the head alone: its bias gradient is exact
        double bias = maxDiff(full.get("4.1.0.3.bias"), lp2.get("4.1.0.3.bias"));
        assertTrue(bias <= 1e-5 * Math.max(1, maxAbs(full.get("4.1.0.3.bias"))), "bias " + bias);
    }

    @Test
    void rewriterAdaptsExactlyTheBlocksLinearLayers() {
        try (Model model = initialisedModel("PyTorch", 64, 4)) {
            List<String> blocks = new ArrayList<>();
            for (int b = 3; b < 7; b++) {
                blocks.addAll(
                        List.of(b + ".0.0.1.qkv", b + ".0.0.1.proj", b + ".1.0.1", b + ".1.0.3"));
            }
            LbpRewriter all = rewriter(BasisSelection.lowPassL1(2), false);
            Map<String, TokenLayout> plan = all.plan(model);
            assertEquals(blocks, new ArrayList<>(plan.keySet()));
            plan.values().forEach(l -> assertEquals(TokenLayout.grid(1, 8, 8), l));
            assertEquals(
                    List.of("qkv", "proj", "fc1", "fc2"),
                    blocks.subList(0, 4).stream().map(StudyVit::kindOf).toList());
            List<String> noQkv =
                    blocks.stream().filter(p -> !p.endsWith("qkv")).collect(Collectors.toList());
            assertEquals(
                    noQkv,
                    new ArrayList<>(
                            rewriter(BasisSelection.lowPassL1(2), true).plan(model).keySet()));
            // a layout that is not the model's 65 tokens fails before anything changes
            LbpRewriter wrong =
                    LbpRewriter.builder()
                            .optTargets(TargetModules.allLinear())
                            .optLayout(TokenLayout.grid(1, 4, 4))
                            .build();
            assertThrows(IllegalArgumentException.class, () -> wrong.apply(model));
            RewriteReport report = all.apply(model);
            assertEquals(blocks, report.getReplaced());
            assertFalse(report.getReplaced().contains(((StudyVit) model.getBlock()).headPath()));
        }
    }

    @Test
    void flopCountEqualsTheListenersReport() throws Exception {
        try (Model model = initialisedModel("PyTorch", 32, 2)) {
            LbpTrainingListener lbp = StudyMethod.parse("lp-l1-2").listener(null, 1, 0);
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .addTrainingListeners(lbp);
            try (Trainer trainer = model.newTrainer(cfg)) {
                NDManager m = trainer.getManager();
                Batch batch =
                        new Batch(
                                m.newSubManager(),
                                new NDList(input(m)),
                                new NDList(m.create(new int[] {0, 1, 2, 3})),
                                BATCH,
                                null,
                                null,
                                0,
                                1);
                EasyTrain.trainBatch(trainer, batch);
                trainer.step();
                batch.close();
                trainer.notifyListeners(l -> l.onEpoch(trainer));
            }
            double[] flops = Trial.flops((StudyVit) model.getBlock());
            assertEquals(lbp.getLastLbpMflops(), flops[0], 1e-9);
            assertEquals(lbp.getLastFullMflops(), flops[1], 1e-9);
            assertEquals(3.0, flops[2], 1e-9);
            assertEquals(8, lbp.getLastEnergyKept().size());
        }
    }

    @Test
    void theModelGivesTheSameLogitsOnBothEngines() {
        Map<String, float[]> weights = initialWeights("PyTorch", 32, 2);
        float[] pt = logits("PyTorch", weights);
        float[] mx = logits("MXNet", weights);
        assertTrue(maxDiff(pt, mx) <= 1e-4 * Math.max(1, maxAbs(pt)), "" + maxDiff(pt, mx));
    }

    @Test
    void aTinyStudyYieldsARowForEveryMethod(@TempDir Path tmp) throws Exception {
        Path data = TinyIdx.write(tmp.resolve("data"), 512, 256);
        Path out = tmp.resolve("out");
        int rc =
                new CommandLine(new CustomModelStudy())
                        .execute(
                                "--data",
                                data.toString(),
                                "--out",
                                out.toString(),
                                "--seeds",
                                "1",
                                "--train-size",
                                "512",
                                "--test-size",
                                "256",
                                "--epochs",
                                "2",
                                "--pretrain-epochs",
                                "2",
                                "--finetune-epochs",
                                "2",
                                "--batch",
                                "32",
                                "--dim",
                                "32",
                                "--depth",
                                "2",
                                "--lr",
                                "2e-3",
                                "--finetune-lr",
                                "2e-3",
                                "--calibration",
                                "4",
                                "--energy-every",
                                "2",
                                "--timing-rounds",
                                "3");
        assertEquals(0, rc);
        List<String> lines = Files.readAllLines(out.resolve("custom-model-study.csv"));
        List<String> header = List.of(lines.get(0).split(","));
        Map<String, String[]> rows = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            assertEquals(header.size(), f.length, line);
            rows.put(f[0] + "/" + f[1], f);
        }
        List<String> expected = new ArrayList<>();
        for (String m : new CustomModelStudy().scratchMethods) {
            expected.add("scratch/" + m);
        }
        expected.add("pretrain/full");
        for (String m : new CustomModelStudy().finetuneMethods) {
            expected.add("finetune/" + m);
        }
        for (String m : new CustomModelStudy().timingMethods) {
            expected.add("timing/" + m);
        }
        assertEquals(expected, new ArrayList<>(rows.keySet()));
        int loss = header.indexOf("train_loss");
        int acc = header.indexOf("test_accuracy");
        int flops = header.indexOf("backward_mflops");
        int bases = header.indexOf("mean_bases");
        int qkv = header.indexOf("energy_qkv");
        int fc2 = header.indexOf("energy_fc2");
        double fullFlops = Double.parseDouble(rows.get("scratch/full")[flops]);
        for (Map.Entry<String, String[]> e : rows.entrySet()) {
            String[] f = e.getValue();
            if (e.getKey().startsWith("timing/")) {
                assertTrue(Double.parseDouble(f[header.indexOf("ms_per_step")]) > 0);
                continue;
            }
            assertTrue(Double.isFinite(Double.parseDouble(f[loss])), e.getKey());
            double chance = e.getKey().startsWith("scratch/") ? 0.1 : 0.2;
            double a = Double.parseDouble(f[acc]);
            assertTrue(a > 1.5 * chance && a <= 1, e.getKey() + " above chance: " + a);
            StudyMethod m = StudyMethod.parse(f[1]);
            double fl = Double.parseDouble(f[flops]);
            if (m.isLbp()) {
                assertTrue(fl < 0.5 * fullFlops, e.getKey() + " saves FLOPs: " + fl);
                double k = Double.parseDouble(f[bases]);
                assertTrue(k > 0 && k <= 10, e.getKey() + " bases " + k);
                double en = Double.parseDouble(f[fc2]);
                assertTrue(en > 0 && en <= 1 + 1e-9, e.getKey() + " fc2 energy " + en);
            } else {
                assertEquals(fullFlops, fl, 1e-9, e.getKey());
            }
            assertEquals(
                    m.qkvExact() || !(m.isLbp() || m.probeOnly()), f[qkv].isEmpty(), e.getKey());
        }
        String md = Files.readString(out.resolve("custom-model-study-tables.md"));
        assertTrue(md.contains("| LP_L1-2 (qkv exact) |"), md);
        assertTrue(md.contains("fixed LP_L1 orders interpolated at the same FLOPs"), md);
    }

    private static LbpRewriter rewriter(BasisSelection selection, boolean qkvExact) {
        LbpRewriter.Builder b =
                LbpRewriter.builder()
                        .optTargets(TargetModules.allLinear())
                        .optConfig(LbpConfig.builder().optSelection(selection).build());
        if (qkvExact) {
            b.optExclude(TargetModules.names("qkv"));
        }
        return b.build();
    }

    private static Model initialisedModel(String engine, int dim, int depth) {
        Engine.getEngine(engine).setRandomSeed(7);
        Model model = Model.newInstance("study-test", engine);
        StudyVit vit = new StudyVit(dim, depth, 4, 10);
        model.setBlock(vit);
        vit.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(BATCH, 1, 32, 32));
        return model;
    }

    private static Map<String, float[]> initialWeights(String engine, int dim, int depth) {
        try (Model model = initialisedModel(engine, dim, depth)) {
            Map<String, float[]> w = new LinkedHashMap<>();
            BlockTree.parameters(model.getBlock())
                    .forEach((k, p) -> w.put(k, p.getArray().toFloatArray()));
            return w;
        }
    }

    private static Model withWeights(String engine, Map<String, float[]> weights) {
        Model model = initialisedModel(engine, 32, 2);
        for (Map.Entry<String, Parameter> e : BlockTree.parameters(model.getBlock()).entrySet()) {
            e.getValue().getArray().set(weights.get(e.getKey()));
        }
        return model;
    }

    private static NDArray input(NDManager m) {
        Random r = new Random(3);
        float[] x = new float[BATCH * 32 * 32];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return m.create(x, new Shape(BATCH, 1, 32, 32));
    }

    /** Parameter gradients of one training pass; LBP-WHT with the selection unless null. */
    private static Map<String, float[]> gradients(
            String engine, Map<String, float[]> weights, BasisSelection selection) {
        try (Model model = withWeights(engine, weights);
                NDManager m = model.getNDManager().newSubManager()) {
            if (selection != null) {
                rewriter(selection, false).apply(model);
            }
            NDArray labels = m.create(new int[] {0, 3, 5, 9});
            try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                NDList logits =
                        model.getBlock()
                                .forward(new ParameterStore(m, false), new NDList(input(m)), true);
                NDArray loss = Loss.softmaxCrossEntropyLoss().evaluate(new NDList(labels), logits);
                gc.backward(loss);
            }
            Map<String, float[]> g = new LinkedHashMap<>();
            BlockTree.parameters(model.getBlock())
                    .forEach((k, p) -> g.put(k, p.getArray().getGradient().toFloatArray()));
            return g;
        }
    }

    private static float[] logits(String engine, Map<String, float[]> weights) {
        try (Model model = withWeights(engine, weights);
                NDManager m = model.getNDManager().newSubManager()) {
            return model.getBlock()
                    .forward(new ParameterStore(m, false), new NDList(input(m)), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    private static double maxAbs(float[] a) {
        double d = 0;
        for (float v : a) {
            d = Math.max(d, Math.abs(v));
        }
        return d;
    }
}
