package io.github.lbpdjl.zoo;

import static io.github.lbpdjl.zoo.ZooTestSupport.assertClose;
import static io.github.lbpdjl.zoo.ZooTestSupport.input;
import static io.github.lbpdjl.zoo.ZooTestSupport.load;
import static io.github.lbpdjl.zoo.ZooTestSupport.logits;
import static io.github.lbpdjl.zoo.ZooTestSupport.vit;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDList;
import ai.djl.repository.zoo.ZooModel;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.HalfFloats;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.safetensors.Tensor;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weights through the zoo: timm and Hugging Face safetensors checkpoints, half precision, a head of
 * another size, and the errors of bad checkpoints.
 */
class ZooCheckpointTest {

    private static final String MICRO = "vit_micro_patch4_32";

    @TempDir Path tmp;

    private static Map<String, Tensor> timmTensors(VisionTransformer vit, DType dtype) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        vit.timmParameters().forEach((k, p) -> out.put(k, Tensor.fromNDArray(p.getArray(), dtype)));
        return out;
    }

    /** Renames timm tensors to Hugging Face ViTForImageClassification names, splitting qkv. */
    private static Map<String, Tensor> toHuggingFace(Map<String, Tensor> timm, int depth) {
        Map<String, Tensor> hf = new LinkedHashMap<>();
        hf.put("vit.embeddings.cls_token", timm.get("cls_token"));
        hf.put("vit.embeddings.position_embeddings", timm.get("pos_embed"));
        hf.put(
                "vit.embeddings.patch_embeddings.projection.weight",
                timm.get("patch_embed.proj.weight"));
        hf.put(
                "vit.embeddings.patch_embeddings.projection.bias",
                timm.get("patch_embed.proj.bias"));
        for (int i = 0; i < depth; i++) {
            String t = "blocks." + i + ".";
            String h = "vit.encoder.layer." + i + ".";
            for (String wb : new String[] {"weight", "bias"}) {
                hf.put(h + "layernorm_before." + wb, timm.get(t + "norm1." + wb));
                hf.put(h + "layernorm_after." + wb, timm.get(t + "norm2." + wb));
                hf.put(h + "attention.output.dense." + wb, timm.get(t + "attn.proj." + wb));
                hf.put(h + "intermediate.dense." + wb, timm.get(t + "mlp.fc1." + wb));
                hf.put(h + "output.dense." + wb, timm.get(t + "mlp.fc2." + wb));
                Tensor qkv = timm.get(t + "attn.qkv." + wb);
                int third = qkv.getData().length / 3;
                long[] shape = qkv.getShape();
                shape[0] /= 3;
                String[] names = {"query", "key", "value"};
                // stored k, q, v: the loader must order them by name, not by position
                for (int part : new int[] {1, 0, 2}) {
                    byte[] bytes =
                            Arrays.copyOfRange(qkv.getData(), part * third, (part + 1) * third);
                    hf.put(
                            h + "attention.attention." + names[part] + "." + wb,
                            new Tensor(qkv.getDType(), shape, bytes));
                }
            }
        }
        hf.put("vit.layernorm.weight", timm.get("norm.weight"));
        hf.put("vit.layernorm.bias", timm.get("norm.bias"));
        hf.put("classifier.weight", timm.get("head.weight"));
        hf.put("classifier.bias", timm.get("head.bias"));
        return hf;
    }

    @Test
    void timmAndHuggingFaceCheckpointsReproduceTheirModel() throws Exception {
        Path timmFile = tmp.resolve("timm.safetensors");
        Path hfFile = tmp.resolve("hf.safetensors");
        float[] want;
        float[] x;
        try (ZooModel<NDList, NDList> m = load(MICRO, "PyTorch", Map.of("seed", 21))) {
            VisionTransformer v = vit(m);
            x = input(v, 3, 4);
            want = logits(m, x, 3);
            Map<String, Tensor> timm = timmTensors(v, DType.F32);
            Map<String, Tensor> prefixed = new LinkedHashMap<>();
            timm.forEach((k, t) -> prefixed.put("module." + k, t)); // DDP-style prefix
            SafetensorsWriter.write(timmFile, prefixed, Map.of("format", "pt"));
            SafetensorsWriter.write(hfFile, toHuggingFace(timm, v.getDepth()), null);
        }
        for (Path f : new Path[] {timmFile, hfFile}) {
            for (String engine : new String[] {"PyTorch", "MXNet"}) {
                try (ZooModel<NDList, NDList> m =
                        load(MICRO, engine, Map.of("weights", f.toString()))) {
                    assertClose(want, logits(m, x, 3), 1e-4, f.getFileName() + " on " + engine);
                }
            }
        }
        try (ZooModel<NDList, NDList> m = load(MICRO, "PyTorch", Map.of("seed", 1))) {
            VitWeights.Result r = VitWeights.load(vit(m), hfFile);
            assertEquals(VitWeights.Naming.HUGGING_FACE, r.getNaming());
            assertEquals(vit(m).timmParameters().size(), r.getLoaded());
        }
    }

    @Test
    void halfPrecisionCheckpointsLoad() throws Exception {
        for (DType dtype : new DType[] {DType.F16, DType.BF16}) {
            Path file = tmp.resolve(dtype + ".safetensors");
            float[] want;
            float[] x;
            Map<String, float[]> rounded = new LinkedHashMap<>();
            try (ZooModel<NDList, NDList> m = load(MICRO, "PyTorch", Map.of("seed", 8))) {
                VisionTransformer v = vit(m);
                x = input(v, 2, 5);
                want = logits(m, x, 2);
                VitWeights.save(v, file, dtype, Map.of("note", "test"));
                v.timmParameters()
                        .forEach(
                                (k, p) -> {
                                    float[] a = p.getArray().toFloatArray();
                                    for (int i = 0; i < a.length; i++) {
                                        a[i] =
                                                dtype == DType.F16
                                                        ? HalfFloats.halfToFloat(
                                                                HalfFloats.floatToHalf(a[i]))
                                                        : HalfFloats.bf16ToFloat(
                                                                HalfFloats.floatToBf16(a[i]));
                                    }
                                    rounded.put(k, a);
                                });
            }
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(dtype, f.getDType("blocks.0.attn.qkv.weight"));
                assertEquals("test", f.getMetadata().get("note"));
            }
            try (ZooModel<NDList, NDList> m =
                    load(MICRO, "MXNet", Map.of("weights", file.toString()))) {
                vit(m).timmParameters()
                        .forEach(
                                (k, p) ->
                                        assertArrayEquals(
                                                rounded.get(k),
                                                p.getArray().toFloatArray(),
                                                0f,
                                                k));
                // the model is the same up to the weights' rounding
                assertClose(want, logits(m, x, 2), dtype == DType.F16 ? 2e-2 : 1e-1, dtype.name());
            }
        }
    }

    @Test
    void headOfAnotherSizeIsReinitialised() throws Exception {
        Path file = tmp.resolve("ten.safetensors");
        Map<String, float[]> src = new LinkedHashMap<>();
        try (ZooModel<NDList, NDList> m = load(MICRO, "PyTorch", Map.of("seed", 2))) {
            VitWeights.save(vit(m), file, DType.F32, null);
            vit(m).timmParameters().forEach((k, p) -> src.put(k, p.getArray().toFloatArray()));
        }
        try (ZooModel<NDList, NDList> m =
                load(MICRO, "PyTorch", Map.of("seed", 2, "numClasses", 5))) {
            VitWeights.Result r = VitWeights.load(vit(m), file);
            assertEquals(List.of("head.weight", "head.bias"), r.getReinitialised());
            vit(m).timmParameters()
                    .forEach(
                            (k, p) -> {
                                if (!k.startsWith("head.")) {
                                    assertArrayEquals(
                                            src.get(k), p.getArray().toFloatArray(), 0f, k);
                                }
                            });
            assertEquals(5 * 64, vit(m).timmParameters().get("head.weight").getArray().size());
        }
        // and through Criteria
        try (ZooModel<NDList, NDList> m =
                load(MICRO, "MXNet", Map.of("weights", file.toString(), "numClasses", 3))) {
            assertEquals(3, logits(m, input(vit(m), 1, 1), 1).length);
        }
    }

    private Path writeVariant(Map<String, Tensor> tensors, String name) throws IOException {
        Path f = tmp.resolve(name);
        SafetensorsWriter.write(f, tensors, null);
        return f;
    }

    @Test
    void badCheckpointsGiveClearErrors() throws Exception {
        Map<String, Tensor> good;
        try (ZooModel<NDList, NDList> m = load(MICRO, "PyTorch", Map.of())) {
            good = timmTensors(vit(m), DType.F32);
        }
        // missing key
        Map<String, Tensor> missing = new LinkedHashMap<>(good);
        missing.remove("blocks.2.mlp.fc1.bias");
        Path f1 = writeVariant(missing, "missing.safetensors");
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () -> load(MICRO, "PyTorch", Map.of("weights", f1.toString())).close());
        assertTrue(
                e.getMessage().contains("missing")
                        && e.getMessage().contains("blocks.2.mlp.fc1.bias")
                        && e.getMessage().contains("missing.safetensors"),
                e.getMessage());
        // extra key
        Map<String, Tensor> extra = new LinkedHashMap<>(good);
        extra.put("extra_token", good.get("cls_token"));
        Path f2 = writeVariant(extra, "extra.safetensors");
        e =
                assertThrows(
                        MalformedModelException.class,
                        () -> load(MICRO, "PyTorch", Map.of("weights", f2.toString())).close());
        assertTrue(
                e.getMessage().contains("unexpected") && e.getMessage().contains("extra_token"),
                e.getMessage());
        // wrong shape
        Map<String, Tensor> wrong = new LinkedHashMap<>(good);
        wrong.put(
                "pos_embed",
                Tensor.fromFloats(new float[65 * 32], new long[] {1, 65, 32}, DType.F32));
        Path f3 = writeVariant(wrong, "wrong.safetensors");
        e =
                assertThrows(
                        MalformedModelException.class,
                        () -> load(MICRO, "MXNet", Map.of("weights", f3.toString())).close());
        assertTrue(
                e.getMessage().contains("pos_embed")
                        && e.getMessage().contains("[1, 65, 32]")
                        && e.getMessage().contains("(1, 65, 64)"),
                e.getMessage());
        // positions that are no square grid after the class token: cannot be resampled
        wrong.put(
                "pos_embed",
                Tensor.fromFloats(new float[51 * 64], new long[] {1, 51, 64}, DType.F32));
        Path f31 = writeVariant(wrong, "wrong2.safetensors");
        e =
                assertThrows(
                        MalformedModelException.class,
                        () -> load(MICRO, "PyTorch", Map.of("weights", f31.toString())).close());
        assertTrue(
                e.getMessage().contains("pos_embed")
                        && e.getMessage().contains("51 positions")
                        && e.getMessage().contains("square grid"),
                e.getMessage());
        // truncated file
        Path good4 = writeVariant(good, "good.safetensors");
        byte[] all = Files.readAllBytes(good4);
        Path f4 = tmp.resolve("truncated.safetensors");
        Files.write(f4, Arrays.copyOf(all, all.length - 100));
        IOException io =
                assertThrows(
                        IOException.class,
                        () -> load(MICRO, "PyTorch", Map.of("weights", f4.toString())).close());
        assertTrue(io.getMessage().contains("truncated.safetensors"), io.getMessage());
        // corrupt header length
        byte[] corrupt = all.clone();
        corrupt[7] = 0x7f;
        Path f5 = tmp.resolve("corrupt.safetensors");
        Files.write(f5, corrupt);
        io =
                assertThrows(
                        IOException.class,
                        () -> load(MICRO, "PyTorch", Map.of("weights", f5.toString())).close());
        assertTrue(
                io.getMessage().contains("corrupt.safetensors")
                        && io.getMessage().contains("header length"),
                io.getMessage());
        // missing file
        io =
                assertThrows(
                        IOException.class,
                        () ->
                                load(
                                                MICRO,
                                                "PyTorch",
                                                Map.of(
                                                        "weights",
                                                        tmp.resolve("nope.safetensors").toString()))
                                        .close());
        assertTrue(io.getMessage().contains("nope.safetensors"), io.getMessage());
    }
}
