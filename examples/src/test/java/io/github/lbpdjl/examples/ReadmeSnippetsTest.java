package io.github.lbpdjl.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.TrainingConfig;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.PairList;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.checkpoint.ResumableAdamW;
import io.github.lbpdjl.checkpoint.TrainingCheckpoint;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.LbpConv2d;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.RewriteReport;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.FineTuning;
import io.github.lbpdjl.training.LbpListeners;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.training.NonFiniteAction;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.VitModelZoo;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java code, compiled and run: each method below holds one of the README's {@code
 * java} blocks verbatim (between the variables it needs and the assertions on what it did), and
 * {@link #everyReadmeSnippetIsHere()} fails when a README block is not in this file, comments and
 * line breaks aside, so the README cannot drift from code that compiles.
 */
class ReadmeSnippetsTest {

    private static final Path README = Path.of("..", "README.md");
    private static final Path THIS =
            Path.of("src/test/java/io/github/lbpdjl/examples/ReadmeSnippetsTest.java");
    private static final Shape IMAGES = new Shape(4, 1, 32, 32);

    @Test
    void everyReadmeSnippetIsHere() throws Exception {
        List<String> blocks = javaBlocks(Files.readString(README, StandardCharsets.UTF_8));
        String here = normalise(Files.readString(THIS, StandardCharsets.UTF_8));
        assertFalse(blocks.isEmpty(), "the README has Java examples");
        for (String block : blocks) {
            String code = normalise(block);
            assertTrue(
                    here.contains(code),
                    "a README java block is not compiled and run by this test; it starts: "
                            + block.lines().findFirst().orElse(""));
        }
    }

    @Test
    void theLayer() {
        // README
        LbpConfig config =
                LbpConfig.builder()
                        .optSelection(BasisSelection.lowPassL1(2)) // LP_L1-2: 3 bases per 8x8 patch
                        .optLayout(
                                TokenLayout.grid(1, 14, 14)) // class token + 14x14 grid (ViT-B/16)
                        .build();
        Block fc1 = LbpLinear.builder().setUnits(3072).optConfig(config).build();
        // what it did
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            fc1.initialize(m, DataType.FLOAT32, new Shape(2, 197, 768));
            NDArray y =
                    fc1.forward(
                                    new ParameterStore(m, false),
                                    new NDList(m.ones(new Shape(2, 197, 768))),
                                    true)
                            .singletonOrThrow();
            assertEquals(new Shape(2, 197, 3072), y.getShape());
        }
    }

    @Test
    void theConvolution() {
        try (Model model = Model.newInstance("mlp", "PyTorch")) {
            model.setBlock(new ConvMlp());
            model.getBlock().initialize(model.getNDManager(), DataType.FLOAT32, MAPS);
            LbpConfig config =
                    LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build();
            Conv2d conv1x1 = Conv2d.builder().setFilters(8).setKernelShape(new Shape(1, 1)).build();
            conv1x1.initialize(model.getNDManager(), DataType.FLOAT32, MAPS);
            // README
            Block pw =
                    LbpConv2d.builder()
                            .setFilters(256)
                            .optConfig(config)
                            .build(); // grid: the input's H x W
            LbpConv2d taken = LbpConv2d.from(conv1x1, config, "mlp.fc1"); // shares its Parameters
            LbpRewriter.builder()
                    .optTargets(TargetModules.names("fc1", "fc2"))
                    .build()
                    .apply(model); // 1x1 convs too
            // what it did
            assertEquals(2, BlockTree.find(model.getBlock(), LbpConv2d.class).size());
            assertEquals(
                    conv1x1.getParameters().get("weight"), taken.getParameters().get("weight"));
            assertEquals(256, ((LbpConv2d) pw).getOutputShapes(new Shape[] {MAPS})[0].get(1));
        }
    }

    @Test
    void rewritingAndTheListeners() throws Exception {
        try (ZooModel<NDList, NDList> model = microVit()) {
            Loss loss = Loss.softmaxCrossEntropyLoss();
            // README
            // turn chosen Linear layers of any DJL block tree into LbpLinear (same Parameter
            // objects)
            LbpRewriter rewriter =
                    LbpRewriter.builder()
                            .optTargets(
                                    TargetModules.names(
                                            "qkv", "proj", "fc1",
                                            "fc2")) // or globs, regex, allLinear()
                            .optConfig(
                                    LbpConfig.builder()
                                            .optSelection(BasisSelection.lowPassL1(4))
                                            .build())
                            .build(); // layout: the model's (TokenGrid), else optLayout(...)
            RewriteReport report =
                    rewriter.apply(model); // report.getReplaced(): blocks.0.attn.qkv, ...
            LbpRewriter.undo(model); // plain Linear again, weights as trained

            // or in training: one preparation (tuners + freezing) applied after newTrainer, and the
            // usual
            // listeners: NaN/Inf check, gradient energy kept every 50 batches, backward FLOPs per
            // epoch
            FineTuning fineTuning =
                    FineTuning.builder()
                            .optLbp(rewriter) // .optLora(loraConfig) composes LoRA too
                            .optFrozen(TargetModules.regex(".*norm.*")) // parameter paths, e.g.
                            // blocks.0.norm1.gamma
                            .build();
            TrainingConfig config =
                    new DefaultTrainingConfig(loss)
                            .addTrainingListeners(LbpListeners.defaults(fineTuning));

            // or everything behind one builder, with a schedule
            LbpTrainingListener lbp =
                    LbpTrainingListener.builder()
                            .optRewriter(rewriter)
                            .optFrozen(TargetModules.regex(".*norm.*"))
                            .optFullBackpropSteps(100) // then LBP-WHT
                            .optSelectionSchedule(
                                    epoch -> BasisSelection.lowPassL1(epoch < 5 ? 6 : 4))
                            .optEnergySampling(50) // ||P gy||^2 / ||gy||^2 every 50 batches
                            .optOnNonFinite(
                                    NonFiniteAction
                                            .STOP) // default: NaN/Inf loss or LBP gradient stops,
                            // naming step and layers
                            .build();
            TrainingConfig scheduled = new DefaultTrainingConfig(loss).addTrainingListeners(lbp);
            // what it did
            assertEquals(16, report.getReplaced().size(), report.toString());
            assertTrue(lbpLayers(model).isEmpty(), "undone");
            trainOneBatch(model, config);
            assertEquals(16, lbpLayers(model).size(), "the preparation rewrote the model");
            trainOneBatch(model, scheduled);
            assertEquals(16, lbp.getLayers().size());
        }
    }

    @Test
    void checkpointAndResume(@TempDir Path tmp) throws Exception {
        try (ZooModel<NDList, NDList> model = microVit()) {
            Loss loss = Loss.softmaxCrossEntropyLoss();
            Tracker lr = Tracker.fixed(1e-3f);
            Path dir = tmp.resolve("checkpoint");
            LbpTrainingListener lbp =
                    LbpTrainingListener.builder()
                            .optRewriter(LbpRewriter.builder().build())
                            .build();
            ArrayDataset trainSet = randomImages(model.getNDManager());
            // README
            ResumableAdamW adamW =
                    ResumableAdamW.builder()
                            .optLearningRateTracker(lr)
                            .build(); // AdamW with savable moments
            TrainingConfig config =
                    new DefaultTrainingConfig(loss).optOptimizer(adamW).addTrainingListeners(lbp);
            Trainer trainer = model.newTrainer(config);
            EasyTrain.fit(trainer, 1, trainSet, null); // train; every so often:
            TrainingCheckpoint.save(
                    dir, model, adamW,
                    lbp); // weights + optimizer + listener state, atomic folder swap

            // to resume, in a new process: build model, adamW, lbp and config as before, then
            TrainingCheckpoint.loadWeights(dir, model); // before newTrainer, as Model.load
            Trainer resumed = model.newTrainer(config); // same listener configuration
            TrainingCheckpoint.loadState(
                    dir, model, adamW, lbp); // schedules, per-layer selections, moments
            // what it did
            trainer.close();
            resumed.close();
            assertTrue(Files.isDirectory(dir));
            assertEquals(16, lbp.getLayers().size());
        }
    }

    @Test
    void classifyAnImage(@TempDir Path tmp) throws Exception {
        Path png = tmp.resolve("digit.png");
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        Random rng = new Random(1);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                img.getRaster().setSample(x, y, 0, rng.nextInt(256));
            }
        }
        ImageIO.write(img, "png", png.toFile());
        // README
        Criteria<Image, Classifications> criteria =
                Criteria.builder()
                        .setTypes(Image.class, Classifications.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId("vit_micro_patch4_32") // or efficientformer_l1,
                        // deit_small_patch16_224, ...
                        .optFilter(
                                "dataset",
                                "mnist") // shipped weights; or optArgument("weights", file)
                        .optEngine("PyTorch")
                        .optArgument(
                                "synset",
                                "zero,one,two,three,four,five,six,seven,eight,nine") // else
                        // "0".."9"
                        .build();
        ZooModel<Image, Classifications> digits = criteria.loadModel();
        Predictor<Image, Classifications> predictor = digits.newPredictor();
        Classifications result = predictor.predict(ImageFactory.getInstance().fromFile(png));
        // what it did
        predictor.close();
        digits.close();
        assertEquals(10, result.getClassNames().size());
        assertEquals("zero", result.getClassNames().get(0));
        double sum = result.getProbabilities().stream().mapToDouble(Double::doubleValue).sum();
        assertEquals(1.0, sum, 1e-5);
    }

    private static final Shape MAPS = new Shape(2, 4, 8, 8);

    /** Two 1x1 convolutions named as an EfficientFormer MLP names them. */
    private static final class ConvMlp extends AbstractBlock {
        private final Conv2d fc1;
        private final Conv2d fc2;

        ConvMlp() {
            fc1 = addChildBlock("fc1", pointwise(16));
            fc2 = addChildBlock("fc2", pointwise(4));
        }

        private static Conv2d pointwise(int filters) {
            return Conv2d.builder().setFilters(filters).setKernelShape(new Shape(1, 1)).build();
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            return children.valueAt(1)
                    .forward(ps, children.valueAt(0).forward(ps, in, training), training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return fc2.getOutputShapes(fc1.getOutputShapes(inputs));
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType type, Shape... inputs) {
            fc1.initialize(manager, type, inputs);
            fc2.initialize(manager, type, fc1.getOutputShapes(inputs));
        }
    }

    private static ZooModel<NDList, NDList> microVit() throws Exception {
        return Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optGroupId(VitModelZoo.GROUP_ID)
                .optArtifactId("vit_micro_patch4_32")
                .optEngine("PyTorch")
                .build()
                .loadModel();
    }

    private static List<LbpLinear> lbpLayers(Model model) {
        return new ArrayList<>(BlockTree.find(model.getBlock(), LbpLinear.class).values());
    }

    private static ArrayDataset randomImages(NDManager m) {
        return new ArrayDataset.Builder()
                .setData(m.randomNormal(IMAGES))
                .optLabels(m.create(new float[] {0, 1, 2, 3}))
                .setSampling(4, false)
                .build();
    }

    private static void trainOneBatch(Model model, TrainingConfig config) throws Exception {
        try (Trainer trainer = model.newTrainer(config)) {
            trainer.initialize(IMAGES);
            for (Batch b : trainer.iterateDataset(randomImages(trainer.getManager()))) {
                EasyTrain.trainBatch(trainer, b);
                trainer.step();
                b.close();
            }
        }
    }

    /** The contents of the README's {@code ```java} blocks. */
    static List<String> javaBlocks(String markdown) {
        List<String> blocks = new ArrayList<>();
        StringBuilder current = null;
        for (String line : markdown.split("\n", -1)) {
            if (current == null && line.strip().equals("```java")) {
                current = new StringBuilder();
            } else if (current != null && line.strip().equals("```")) {
                blocks.add(current.toString());
                current = null;
            } else if (current != null) {
                current.append(line).append('\n');
            }
        }
        return blocks;
    }

    /** Code without line comments and whitespace: what the compiler sees of it. */
    static String normalise(String code) {
        StringBuilder sb = new StringBuilder();
        for (String line : code.split("\n", -1)) {
            int comment = line.indexOf("//");
            sb.append(comment < 0 ? line : line.substring(0, comment));
        }
        return sb.toString().replaceAll("\\s+", "");
    }
}
