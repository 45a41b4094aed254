package io.github.lbpdjl.zoo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Imports and exports {@link VisionTransformer} weights as safetensors, with timm or Hugging Face
 * ViT tensor names.
 *
 * <p>timm names are the model's own ({@link VisionTransformer#timmParameters()}); a leading {@code
 * module.} is ignored. Hugging Face {@code ViTForImageClassification} / {@code ViTModel} names
 * ({@code vit.embeddings.patch_embeddings.projection.weight}, {@code
 * vit.encoder.layer.0.attention.attention.query.weight}, ..., {@code classifier.weight}) are
 * mapped, the separate query, key and value concatenated into {@code qkv}, and {@code pooler.*}
 * ignored. The naming is detected from the keys. Note that Hugging Face ViT configs usually use
 * LayerNorm epsilon 1e-12 where timm uses 1e-6; build the model with {@code optLayerNormEps} if the
 * difference matters (the zoo's loader reads it from a folder's {@code config.json}). Position
 * embeddings of a checkpoint for another (square) grid are resampled as timm does ({@code
 * resample_abs_pos_embed}: prefix tokens kept, bicubic with antialiasing). Tensors of timm features
 * the model lacks ({@code dist_token}, {@code reg_token}, layer scale, {@code fc_norm}) or that the
 * zoo does not build ({@code norm_pre}, {@code attn_pool}, qk-norm, ...) are refused, naming the
 * tensor and the feature.
 *
 * <p>Every tensor is matched by name and its shape validated before anything is written into the
 * model; missing and extra tensors are errors. A head whose number of classes differs from the
 * model's, or a checkpoint without a head (headless: timm's {@code num_classes=0}, transformers'
 * {@code ViTModel}), leaves the model's freshly initialised head and a log line says so; a model of
 * 0 classes ignores the checkpoint's head. F32, F16, BF16 and F64 tensors are accepted and
 * converted to float32.
 */
public final class VitWeights {

    private static final Logger logger = LoggerFactory.getLogger(VitWeights.class);

    /** Checkpoint naming conventions. */
    public enum Naming {
        /** timm's names, e.g. {@code blocks.0.attn.qkv.weight}. */
        TIMM,
        /** Hugging Face transformers' ViT names. */
        HUGGING_FACE
    }

    /** What a load did, and the naming it found. */
    public static final class Result extends ImportResult {
        private final Naming naming;

        Result(Naming naming, ImportResult r) {
            super(r.getLoaded(), r.getReinitialised(), r.getIgnored(), r.getResampled());
            this.naming = naming;
        }

        /**
         * @return the naming detected in the checkpoint
         */
        public Naming getNaming() {
            return naming;
        }
    }

    private VitWeights() {}

    /**
     * Loads a safetensors checkpoint into an initialised model.
     *
     * @param vit the model, initialised
     * @param file the checkpoint
     * @return what was loaded
     * @throws IOException if the file is missing, unreadable or malformed
     * @throws IllegalArgumentException on missing or extra tensors or a wrong shape, naming them
     */
    public static Result load(VisionTransformer vit, Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return load(vit, f);
        }
    }

    /**
     * Loads an open safetensors checkpoint into an initialised model.
     *
     * @param vit the model, initialised
     * @param file the checkpoint
     * @return what was loaded
     * @throws IOException if reading fails
     * @throws IllegalArgumentException on missing or extra tensors or a wrong shape, naming them
     */
    public static Result load(VisionTransformer vit, SafetensorsFile file) throws IOException {
        Naming naming = detectNaming(file.keys());
        CheckpointImport.Names names =
                new CheckpointImport.Names() {
                    @Override
                    public String target(String key) {
                        String name =
                                naming == Naming.TIMM
                                        ? CheckpointNames.fromTimm(key)
                                        : CheckpointNames.fromHuggingFace(key);
                        if (name != null
                                && vit.getNumClasses() == 0
                                && (name.startsWith("head.") || name.startsWith("head_dist."))) {
                            return ""; // a headless model: the classifier is not used
                        }
                        return name;
                    }

                    @Override
                    public int part(String key) {
                        return naming == Naming.TIMM ? -1 : CheckpointNames.qkvRole(key);
                    }

                    @Override
                    public int partCount() {
                        return 3;
                    }

                    @Override
                    public String partNames() {
                        return "query, key and value tensors";
                    }

                    @Override
                    public UnaryOperator<float[]> resampler(String name, long[] got, Shape want) {
                        return posEmbedResampler(vit, name, got, want);
                    }
                };
        checkSupported(vit, file.keys(), file.getSource());
        ImportResult r =
                CheckpointImport.load(
                        file,
                        vit.timmParameters(),
                        names,
                        name -> name.startsWith("head.") || name.startsWith("head_dist."),
                        describe(vit));
        return new Result(naming, r);
    }

    /**
     * Overwrites an array's values in place (the same NDArray object, so optimizer state and
     * parameter references stay valid). Falls back to a copy from a new array where an engine
     * refuses a direct write (MXNet arrays in MKL-DNN layout after a forward pass).
     *
     * @param target the array to overwrite, float32
     * @param values the new values, row-major, as many as the array has elements
     */
    public static void assign(NDArray target, float[] values) {
        CheckpointImport.assign(target, values);
    }

    /**
     * timm's resampling of position embeddings for a checkpoint of another (square) grid: the
     * prefix rows kept (none with {@code no_embed_class}), the grid resized bicubically.
     */
    static UnaryOperator<float[]> posEmbedResampler(
            VisionTransformer vit, String name, long[] got, Shape want) {
        if (!"pos_embed".equals(name) || got.length != 3 || got[0] != 1 || got[2] != want.get(2)) {
            return null;
        }
        int prefix = vit.isNoEmbedClass() ? 0 : vit.getNumPrefixTokens();
        long grid = got[1] - prefix;
        int side = (int) Math.round(Math.sqrt(grid));
        if (grid < 1 || (long) side * side != grid) {
            throw new IllegalArgumentException(
                    "pos_embed: the checkpoint's "
                            + got[1]
                            + " positions are not "
                            + prefix
                            + " prefix tokens and a square grid; cannot resample to the model's "
                            + want);
        }
        int[] to = vit.getGridSize();
        int channels = (int) got[2];
        logger.info(
                "pos_embed resampled from a {}x{} to a {}x{} grid (bicubic, as timm)",
                side,
                side,
                to[0],
                to[1]);
        return v -> PosEmbedResampling.resample(v, prefix, side, side, to[0], to[1], channels);
    }

    /**
     * Refuses checkpoint tensors of timm ViT features the model lacks, naming the tensor and the
     * feature, before the generic name check (which would only call them unexpected).
     */
    static void checkSupported(VisionTransformer vit, Iterable<String> keys, String src) {
        for (String raw : keys) {
            String k = CheckpointNames.fromTimm(raw);
            String why = null;
            if (k.startsWith("norm_pre.")) {
                why = "a LayerNorm before the blocks (timm pre_norm, CLIP-style) is not supported";
            } else if (k.startsWith("attn_pool.")) {
                why = "attention pooling (timm global_pool='map') is not supported";
            } else if (k.startsWith("patch_embed.norm.")) {
                why = "a norm in the patch embedding is not supported";
            } else if (k.matches("blocks\\.\\d+\\.attn\\.(q_norm|k_norm|norm)\\..*")) {
                why = "normalisation inside attention (qk_norm, scale_attn_norm) is not supported";
            } else if (k.matches("blocks\\.\\d+\\.mlp\\.norm\\..*")) {
                why = "a norm inside the MLP (scale_mlp_norm) is not supported";
            } else if (k.matches("blocks\\.\\d+\\.mlp\\.fc1_[gx]\\..*")) {
                why = "gated MLPs (SwiGLU) are not supported";
            } else if (k.equals("dist_token") && !vit.isDistilled()) {
                why =
                        "a distilled DeiT checkpoint: use a deit_*_distilled_* model or the"
                                + " argument distilled=true";
            } else if (k.equals("reg_token") && vit.getRegTokens() == 0) {
                why = "register tokens: give the argument regTokens";
            } else if (k.matches("blocks\\.\\d+\\.ls[12]\\.gamma") && vit.getInitValues() == 0) {
                why = "layer scale: give the argument initValues (e.g. 1e-5)";
            } else if (k.matches("blocks\\.\\d+\\.gamma_[12]")) {
                why = "layer scale under its old name (gamma_1/2): rename to ls1.gamma / ls2.gamma";
            } else if (k.startsWith("fc_norm.") && !vit.hasFcNorm()) {
                why = "a final norm after pooling (fc_norm): give the argument globalPool=avg";
            }
            if (why != null) {
                throw new IllegalArgumentException(src + ": tensor '" + raw + "': " + why);
            }
        }
    }

    private static String describe(VisionTransformer vit) {
        return "VisionTransformer(dim "
                + vit.getEmbedDim()
                + ", depth "
                + vit.getDepth()
                + ", "
                + vit.getNumClasses()
                + " classes)";
    }

    /**
     * Detects the naming of a checkpoint from its keys.
     *
     * @param keys the tensor names
     * @return HUGGING_FACE if any key looks like a Hugging Face ViT name, else TIMM
     */
    public static Naming detectNaming(Iterable<String> keys) {
        return CheckpointNames.isHuggingFace(keys) ? Naming.HUGGING_FACE : Naming.TIMM;
    }

    /**
     * Saves a model's weights with timm names.
     *
     * @param vit the model, initialised
     * @param file the target (written atomically)
     * @param dtype F32, F16, BF16 or F64
     * @param metadata extra {@code __metadata__} entries, or null
     * @throws IOException if writing fails
     */
    public static void save(
            VisionTransformer vit, Path file, DType dtype, Map<String, String> metadata)
            throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        if (metadata != null) {
            meta.putAll(metadata);
        }
        SafetensorsWriter.writeParameters(file, vit.timmParameters(), dtype, meta);
    }
}
