package io.github.lbpdjl.zoo.efficientformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.LayerNorm;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.safetensors.Tensor;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.EfficientFormerVariant;
import io.github.lbpdjl.zoo.EfficientFormerWeights;
import io.github.lbpdjl.zoo.ImportResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Module paths and parameter names are timm's; weights import and export as timm's state_dict. */
class EfficientFormerStructureTest {

    @TempDir Path tmp;

    /** timm's state_dict entries (key, shape, dtype) of a variant, from the fixture script. */
    private static List<String[]> timmStateDict(EfficientFormerVariant v) throws IOException {
        List<String[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(TimmFixture.resource(v.getName() + ".keys.txt"))) {
            if (!line.startsWith("#") && !line.isBlank()) {
                out.add(line.split(" "));
            }
        }
        return out;
    }

    private static boolean isIntegerBuffer(String key) {
        return key.endsWith(".num_batches_tracked") || key.endsWith(".attention_bias_idxs");
    }

    @ParameterizedTest
    @EnumSource(EfficientFormerVariant.class)
    void parameterNamesAndShapesAreTimmsStateDict(EfficientFormerVariant v) throws IOException {
        EfficientFormer model = v.build();
        Map<String, String> want = new LinkedHashMap<>();
        for (String[] e : timmStateDict(v)) {
            if (!isIntegerBuffer(e[0])) {
                want.put(e[0], e[1]);
            }
        }
        // names before initialisation, in state_dict order
        assertEquals(List.copyOf(want.keySet()), List.copyOf(BlockTree.parameters(model).keySet()));
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            model.initialize(m);
            Map<String, String> got = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : model.timmParameters().entrySet()) {
                long[] s = e.getValue().getArray().getShape().getShape();
                StringBuilder b = new StringBuilder();
                for (long d : s) {
                    b.append(b.length() == 0 ? "" : "x").append(d);
                }
                got.put(e.getKey(), b.toString());
            }
            assertEquals(want, got);
        }
    }

    @Test
    void modulePathsAreTimms() {
        Map<String, Block> l1 = EfficientFormerVariant.EFFICIENTFORMER_L1.build().namedModules();
        assertTrue(l1.get("stem") instanceof Stem);
        assertTrue(l1.get("stem.conv1") instanceof Conv2d);
        assertTrue(l1.get("stem.norm2") instanceof BatchNorm);
        assertFalse(l1.containsKey("stages.0.downsample"), "timm's is an identity");
        assertTrue(l1.get("stages.1.downsample.conv") instanceof Conv2d);
        assertTrue(l1.get("stages.0.blocks.2") instanceof MetaBlock2d);
        assertTrue(l1.get("stages.0.blocks.0.token_mixer") instanceof Pooling);
        assertTrue(l1.get("stages.0.blocks.0.ls1") instanceof LayerScale);
        assertTrue(l1.get("stages.0.blocks.0.mlp") instanceof ConvMlpWithNorm);
        assertTrue(l1.get("stages.0.blocks.0.mlp.norm1") instanceof BatchNorm);
        // l1's last stage: 3 Meta4D, the Flat, 1 Meta3D
        assertTrue(l1.get("stages.3.blocks.2") instanceof MetaBlock2d);
        assertTrue(l1.get("stages.3.blocks.3") instanceof Flat);
        assertTrue(l1.get("stages.3.blocks.4") instanceof MetaBlock1d);
        assertTrue(l1.get("stages.3.blocks.4.norm1") instanceof LayerNorm);
        assertTrue(l1.get("stages.3.blocks.4.token_mixer") instanceof Attention);
        assertTrue(l1.get("stages.3.blocks.4.token_mixer.qkv") instanceof Linear);
        assertTrue(l1.get("stages.3.blocks.4.mlp.fc1") instanceof Linear);
        assertTrue(l1.get("head_dist") instanceof Linear);
        assertFalse(l1.containsKey("stages.3.blocks.5"));
        // l7: every block of the last stage is a Meta3D one, the Flat first
        Map<String, Block> l7 = EfficientFormerVariant.EFFICIENTFORMER_L7.build().namedModules();
        assertTrue(l7.get("stages.3.blocks.0") instanceof Flat);
        assertTrue(l7.get("stages.3.blocks.8") instanceof MetaBlock1d);
        // the tuners' paths: the Linear layers are the Meta3D blocks' and the classifiers
        List<String> linears = new ArrayList<>(BlockTree.find(v1(), Linear.class).keySet());
        assertEquals(
                List.of(
                        "stages.3.blocks.4.token_mixer.qkv",
                        "stages.3.blocks.4.token_mixer.proj",
                        "stages.3.blocks.4.mlp.fc1",
                        "stages.3.blocks.4.mlp.fc2",
                        "head",
                        "head_dist"),
                linears);
    }

    private static EfficientFormer v1() {
        return EfficientFormerVariant.EFFICIENTFORMER_L1.build();
    }

    @Test
    void tokenGridAndShapes() {
        EfficientFormer l1 = v1();
        assertEquals(TokenLayout.grid(0, 7, 7), TokenLayout.of(l1));
        assertEquals(
                new Shape(2, 1000), l1.getOutputShapes(new Shape[] {new Shape(2, 3, 224, 224)})[0]);
        assertThrows(
                IllegalArgumentException.class,
                () -> l1.getOutputShapes(new Shape[] {new Shape(2, 3, 256, 224)}));
        // the grid follows the image: sides rounded up by each stride-2 convolution
        EfficientFormer odd =
                EfficientFormer.builder()
                        .setDepths(1, 1)
                        .setEmbedDims(4, 8)
                        .setImageSize(50, 30)
                        .optNumClasses(2)
                        .build();
        assertArrayEquals(new int[] {7, 4}, odd.getGridSize());
        assertArrayEquals(
                Attention.relativePositionIndex(2, 3),
                new long[] {
                    0, 1, 2, 3, 4, 5, 1, 0, 1, 4, 3, 4, 2, 1, 0, 5, 4, 3, 3, 4, 5, 0, 1, 2, 4, 3, 4,
                    1, 0, 1, 5, 4, 3, 2, 1, 0
                });
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> EfficientFormer.builder().setDepths(1, 1).setEmbedDims(8).build());
        assertTrue(e.getMessage().contains("one per stage"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                EfficientFormer.builder()
                                        .setDepths(1, 1)
                                        .setEmbedDims(8, 16)
                                        .optDownsamples(false, false)
                                        .build());
        assertTrue(e.getMessage().contains("width must stay 8"), e.getMessage());
    }

    @Test
    void savedFileIsTimmsStateDict() throws Exception {
        TimmFixture f = new TimmFixture(TimmFixture.TINY3);
        EfficientFormer model = f.builder().build();
        Path saved = tmp.resolve("saved.safetensors");
        try (Model m = Model.newInstance("ef", Device.cpu(), "PyTorch")) {
            m.setBlock(model);
            model.initialize(m.getNDManager());
            ImportResult r = EfficientFormerWeights.load(model, f.weights);
            // timm's integer buffers: 7 BatchNorms' counters... and one attention index
            assertTrue(
                    r.getIgnored().stream()
                            .allMatch(EfficientFormerStructureTest::isIntegerBuffer));
            EfficientFormerWeights.save(model, saved, DType.F32, null);
        }
        try (SafetensorsFile timm = SafetensorsFile.open(f.weights);
                SafetensorsFile java = SafetensorsFile.open(saved)) {
            assertEquals(List.copyOf(timm.keys()), List.copyOf(java.keys()));
            for (String k : timm.keys()) {
                assertEquals(timm.getDType(k), java.getDType(k), k);
                assertArrayEquals(timm.getShape(k), java.getShape(k), k);
                if (!k.endsWith(".num_batches_tracked")) {
                    assertArrayEquals(
                            timm.get(k).toFloatArray(), java.get(k).toFloatArray(), 0f, k);
                }
            }
        }
    }

    @Test
    void importChecksTheCheckpoint() throws Exception {
        TimmFixture f = new TimmFixture(TimmFixture.TINY2);
        Map<String, Tensor> timm = SafetensorsFile.readAll(f.weights);
        String idx = "stages.1.blocks.1.token_mixer.attention_bias_idxs";
        assertTrue(timm.containsKey(idx));
        try (Model m = Model.newInstance("ef", Device.cpu(), "PyTorch")) {
            // another number of classes: both classifiers are kept freshly initialised
            EfficientFormer five = f.builder().optNumClasses(5).build();
            m.setBlock(five);
            five.initialize(m.getNDManager());
            ImportResult r = EfficientFormerWeights.load(five, f.weights);
            assertEquals(
                    List.of("head.weight", "head.bias", "head_dist.weight", "head_dist.bias"),
                    r.getReinitialised());
            assertEquals(five.timmParameters().size() - 4, r.getLoaded());

            EfficientFormer model = f.builder().build();
            m.setBlock(model);
            model.initialize(m.getNDManager());
            // a wrong relative position index (a checkpoint for another grid)
            Map<String, Tensor> bad = new LinkedHashMap<>(timm);
            byte[] data = timm.get(idx).getData().clone();
            data[8] = 3;
            bad.put(idx, new Tensor(DType.I64, timm.get(idx).getShape(), data));
            Path badFile = tmp.resolve("bad-index.safetensors");
            SafetensorsWriter.write(badFile, bad, null);
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> EfficientFormerWeights.load(model, badFile));
            assertTrue(e.getMessage().contains(idx), e.getMessage());
            // a missing tensor
            Map<String, Tensor> missing = new LinkedHashMap<>(timm);
            missing.remove("stages.0.blocks.0.ls2.gamma");
            Path missingFile = tmp.resolve("missing.safetensors");
            SafetensorsWriter.write(missingFile, missing, null);
            e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> EfficientFormerWeights.load(model, missingFile));
            assertTrue(e.getMessage().contains("stages.0.blocks.0.ls2.gamma"), e.getMessage());
            // a counter where there is no BatchNorm
            Map<String, Tensor> extra = new LinkedHashMap<>(timm);
            extra.put("stem.conv1.num_batches_tracked", timm.get("stem.norm1.num_batches_tracked"));
            Path extraFile = tmp.resolve("extra.safetensors");
            SafetensorsWriter.write(extraFile, extra, null);
            e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> EfficientFormerWeights.load(model, extraFile));
            assertTrue(e.getMessage().contains("stem.conv1.num_batches_tracked"), e.getMessage());
        }
    }
}
