package io.github.lbpdjl.zoo;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.lbpdjl.zoo.vit.Gelu;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import io.github.lbpdjl.zoo.vit.VisionTransformerBuilder;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How {@link VitModelLoader} configures a {@link VisionTransformer} for a checkpoint: its
 * dimensions from the artifact, or from a folder's {@code config.json} (timm's {@code architecture}
 * and {@code model_args}, or transformers' sizes); the timm features from the tensors the
 * checkpoint has ({@code dist_token}, {@code reg_token}, {@code ls1.gamma}, {@code fc_norm}, {@code
 * cls_token}, the length of {@code pos_embed}, the head's size); then the Criteria's arguments over
 * all of it.
 */
final class VitConfigs {

    private static final Logger logger = LoggerFactory.getLogger(VitConfigs.class);

    /** Argument: the image side (position embeddings are resampled to it). */
    static final String ARG_IMAGE_SIZE = "imageSize";

    /** Argument: the patch side. */
    static final String ARG_PATCH_SIZE = "patchSize";

    /** Argument: token or avg. */
    static final String ARG_GLOBAL_POOL = "globalPool";

    /** Argument: number of register tokens. */
    static final String ARG_REG_TOKENS = "regTokens";

    /** Argument: position embeddings for the patches only. */
    static final String ARG_NO_EMBED_CLASS = "noEmbedClass";

    /** Argument: layer scale initial value (0: none). */
    static final String ARG_INIT_VALUES = "initValues";

    /** Argument: a distilled DeiT. */
    static final String ARG_DISTILLED = "distilled";

    /** Argument: whether there is a class token. */
    static final String ARG_CLASS_TOKEN = "classToken";

    /** Argument: the LayerNorm epsilon. */
    static final String ARG_LAYER_NORM_EPS = "layerNormEps";

    private static final Pattern TIMM_NAME =
            Pattern.compile(
                    "(?:vit|deit\\d?)_(tiny|small|base|large|huge)_(distilled_)?patch(\\d+)"
                            + "(?:_[a-z0-9]+)*?_(\\d+)(?:\\..*)?");

    /** timm's names: embedding dimension, depth, heads. */
    private static final Map<String, int[]> SIZES =
            Map.of(
                    "tiny", new int[] {192, 12, 3},
                    "small", new int[] {384, 12, 6},
                    "base", new int[] {768, 12, 12},
                    "large", new int[] {1024, 24, 16},
                    "huge", new int[] {1280, 32, 16});

    /**
     * Name parts of timm ViTs whose computation differs in ways their tensors do not show (a tanh
     * GELU, quick GELU, rotary embeddings, parallel blocks, ...).
     */
    private static final Set<String> UNSUPPORTED_NAMES =
            Set.of(
                    "siglip",
                    "siglip2",
                    "clip",
                    "quickgelu",
                    "rope",
                    "xp",
                    "parallel",
                    "so400m",
                    "so150m",
                    "naflex",
                    "aimv2",
                    "pe",
                    "relpos",
                    "srelpos",
                    "sam",
                    "dinov2");

    private static final Set<String> MODEL_ARGS =
            Set.of(
                    "img_size",
                    "patch_size",
                    "in_chans",
                    "num_classes",
                    "global_pool",
                    "embed_dim",
                    "depth",
                    "num_heads",
                    "mlp_ratio",
                    "qkv_bias",
                    "init_values",
                    "class_token",
                    "no_embed_class",
                    "reg_tokens",
                    "fc_norm",
                    "drop_rate",
                    "pos_drop_rate",
                    "patch_drop_rate",
                    "proj_drop_rate",
                    "attn_drop_rate",
                    "drop_path_rate",
                    "final_norm");

    private VitConfigs() {}

    /**
     * The builder for a variant, a checkpoint and the Criteria's arguments.
     *
     * @param variant the artifact's variant
     * @param checkpoint the weights file or folder, or null
     * @param args the Criteria's options and arguments
     * @return the builder
     */
    static VisionTransformerBuilder builder(
            VitVariant variant, HubCheckpoint checkpoint, Map<String, Object> args) {
        VisionTransformerBuilder b = variant.builder();
        Integer configClasses = null;
        if (checkpoint != null && checkpoint.getFormat() == HubCheckpoint.Format.TIMM) {
            configClasses = fromTimm(variant, checkpoint, b);
        } else if (checkpoint != null
                && checkpoint.getFormat() == HubCheckpoint.Format.TRANSFORMERS) {
            fromTransformers(checkpoint.getConfig(), b);
        }
        Map<String, long[]> shapes = checkpoint == null ? null : timmShapes(checkpoint);
        if (shapes != null) {
            fromTensors(variant, shapes, configClasses, args, b, checkpoint);
        } else if (configClasses != null) {
            b.optNumClasses(configClasses); // a .params file: the config says what it holds
        }
        fromArguments(args, b);
        return b;
    }

    /** The checkpoint's tensor shapes under the model's timm names. */
    private static Map<String, long[]> timmShapes(HubCheckpoint checkpoint) {
        Map<String, long[]> raw = checkpoint.getShapes();
        if (raw == null) {
            return null;
        }
        boolean hf = CheckpointNames.isHuggingFace(raw.keySet());
        Map<String, long[]> out = new HashMap<>();
        for (Map.Entry<String, long[]> e : raw.entrySet()) {
            String name =
                    hf
                            ? CheckpointNames.fromHuggingFace(e.getKey())
                            : CheckpointNames.fromTimm(e.getKey());
            if (name != null && !name.isEmpty()) {
                out.put(name, e.getValue());
            }
        }
        return out;
    }

    /** timm's hub config: the architecture's sizes, then model_args; returns num_classes. */
    private static Integer fromTimm(
            VitVariant variant, HubCheckpoint checkpoint, VisionTransformerBuilder b) {
        JsonObject config = checkpoint.getConfig();
        String arch = config.has("architecture") ? config.get("architecture").getAsString() : null;
        if (arch != null) {
            String base = arch.contains(".") ? arch.substring(0, arch.indexOf('.')) : arch;
            VitVariant known = null;
            for (VitVariant v : VitVariant.values()) {
                if (v.getName().equals(base)) {
                    known = v;
                }
            }
            if (known != null) {
                copy(known, b);
            } else {
                Matcher m = TIMM_NAME.matcher(arch);
                for (String token : base.split("_")) {
                    if (UNSUPPORTED_NAMES.contains(token)) {
                        throw new IllegalArgumentException(
                                HubCheckpoint.CONFIG
                                        + ": architecture '"
                                        + arch
                                        + "': '"
                                        + token
                                        + "' models (their activation, norms or attention) are"
                                        + " not built by the zoo's ViT");
                    }
                }
                if (!m.matches()) {
                    throw new IllegalArgumentException(
                            HubCheckpoint.CONFIG
                                    + ": architecture '"
                                    + arch
                                    + "' is not a ViT or DeiT this zoo builds (vit_<size>_patch<p>"
                                    + "_<image>, deit_<size>[_distilled]_patch<p>_<image>)");
                }
                int[] size = SIZES.get(m.group(1));
                b.setEmbedDim(size[0])
                        .setDepth(size[1])
                        .setNumHeads(size[2])
                        .setPatchSize(Integer.parseInt(m.group(3)))
                        .setImageSize(Integer.parseInt(m.group(4)))
                        .optDistilled(m.group(2) != null);
            }
            if (known != variant) {
                logger.info(
                        "{}: architecture {} (the artifact is {}): built as the folder says",
                        checkpoint.getWeights(),
                        arch,
                        variant.getName());
            }
        }
        JsonObject pre = checkpoint.pretrainedCfg();
        if (pre.has("input_size")) {
            b.setImageSize(pre.getAsJsonArray("input_size").get(1).getAsInt());
        }
        JsonObject a = checkpoint.modelArgs();
        for (Map.Entry<String, JsonElement> e : a.entrySet()) {
            JsonElement v = e.getValue();
            boolean off =
                    v.isJsonNull()
                            || (v.isJsonPrimitive()
                                    && (v.getAsJsonPrimitive().isBoolean() && !v.getAsBoolean()));
            if (!MODEL_ARGS.contains(e.getKey()) && !off) {
                throw new IllegalArgumentException(
                        HubCheckpoint.CONFIG
                                + ": model_args."
                                + e.getKey()
                                + " = "
                                + v
                                + " is not supported by the zoo's ViT");
            }
        }
        if (a.has("final_norm") && !a.get("final_norm").getAsBoolean()) {
            throw new IllegalArgumentException(
                    HubCheckpoint.CONFIG + ": model_args.final_norm = false is not supported");
        }
        if (a.has("img_size")) {
            JsonElement s = a.get("img_size");
            b.setImageSize(s.isJsonArray() ? s.getAsJsonArray().get(0).getAsInt() : s.getAsInt());
        }
        if (a.has("patch_size")) {
            b.setPatchSize(a.get("patch_size").getAsInt());
        }
        if (a.has("embed_dim")) {
            b.setEmbedDim(a.get("embed_dim").getAsInt());
        }
        if (a.has("depth")) {
            b.setDepth(a.get("depth").getAsInt());
        }
        if (a.has("num_heads")) {
            b.setNumHeads(a.get("num_heads").getAsInt());
        }
        if (a.has("mlp_ratio")) {
            b.optMlpRatio(a.get("mlp_ratio").getAsDouble());
        }
        if (a.has("in_chans")) {
            b.optInChannels(a.get("in_chans").getAsInt());
        }
        if (a.has("qkv_bias")) {
            b.optQkvBias(a.get("qkv_bias").getAsBoolean());
        }
        String pool = null;
        if (config.has("global_pool")) {
            pool = config.get("global_pool").getAsString();
        }
        if (a.has("global_pool")) {
            pool = a.get("global_pool").getAsString();
        }
        if (pool != null) {
            b.optGlobalPool(pool);
        }
        if (a.has("num_classes")) {
            return a.get("num_classes").getAsInt();
        }
        return config.has("num_classes") ? config.get("num_classes").getAsInt() : null;
    }

    private static void copy(VitVariant v, VisionTransformerBuilder b) {
        b.setImageSize(v.getImageSize())
                .setPatchSize(v.getPatchSize())
                .setEmbedDim(v.getEmbedDim())
                .setDepth(v.getDepth())
                .setNumHeads(v.getNumHeads())
                .optMlpRatio(v.getMlpRatio())
                .optDistilled(v.isDistilled());
    }

    /** transformers' ViT config. */
    private static void fromTransformers(JsonObject c, VisionTransformerBuilder b) {
        String type = c.has("model_type") ? c.get("model_type").getAsString() : "vit";
        if (!"vit".equals(type)) {
            throw new IllegalArgumentException(
                    HubCheckpoint.CONFIG
                            + ": model_type '"
                            + type
                            + "' is not supported; transformers' 'vit' is");
        }
        int hidden = c.get("hidden_size").getAsInt();
        b.setEmbedDim(hidden)
                .setDepth(c.get("num_hidden_layers").getAsInt())
                .setNumHeads(c.get("num_attention_heads").getAsInt())
                .setImageSize(c.has("image_size") ? c.get("image_size").getAsInt() : 224)
                .setPatchSize(c.has("patch_size") ? c.get("patch_size").getAsInt() : 16)
                .optLayerNormEps(
                        c.has("layer_norm_eps") ? c.get("layer_norm_eps").getAsFloat() : 1e-12f)
                .optQkvBias(!c.has("qkv_bias") || c.get("qkv_bias").getAsBoolean());
        if (c.has("intermediate_size")) {
            b.optMlpRatio(c.get("intermediate_size").getAsDouble() / hidden);
        }
        if (c.has("num_channels")) {
            b.optInChannels(c.get("num_channels").getAsInt());
        }
        String act = c.has("hidden_act") ? c.get("hidden_act").getAsString() : "gelu";
        switch (act) {
            case "gelu":
                break;
            case "gelu_new":
            case "gelu_pytorch_tanh":
            case "gelu_fast":
                b.optActivation(Gelu::geluTanh);
                break;
            default:
                throw new IllegalArgumentException(
                        HubCheckpoint.CONFIG
                                + ": hidden_act '"
                                + act
                                + "' is not supported; gelu and gelu_new (tanh) are");
        }
    }

    /** The timm features the checkpoint's tensors show, unless an argument says otherwise. */
    private static void fromTensors(
            VitVariant variant,
            Map<String, long[]> shapes,
            Integer configClasses,
            Map<String, Object> args,
            VisionTransformerBuilder b,
            HubCheckpoint checkpoint) {
        boolean cls = shapes.containsKey("cls_token");
        boolean dist = shapes.containsKey("dist_token");
        int reg = shapes.containsKey("reg_token") ? (int) shapes.get("reg_token")[1] : 0;
        b.optClassToken(cls).optDistilled(dist).optRegTokens(reg);
        if (shapes.containsKey("blocks.0.ls1.gamma")) {
            b.optInitValues(1e-5f); // overwritten by the checkpoint
        }
        if (shapes.containsKey("fc_norm.weight")) {
            b.optFcNorm(true).optGlobalPool("avg");
        } else if (!cls) {
            b.optFcNorm(false).optGlobalPool("avg");
        }
        if (shapes.containsKey("blocks.0.attn.qkv.weight")
                && !shapes.containsKey("blocks.0.attn.qkv.bias")) {
            b.optQkvBias(false);
        }
        long[] pos = shapes.get("pos_embed");
        if (pos != null && pos.length == 3) {
            int prefix = (cls ? 1 : 0) + (dist ? 1 : 0) + reg;
            if (!square(pos[1] - prefix) && square(pos[1]) && prefix > 0) {
                b.optNoEmbedClass(true);
            }
        }
        long[] patch = shapes.get("patch_embed.proj.weight");
        if (patch != null
                && patch.length == 4
                && !args.containsKey(TimmModelLoader.ARG_IN_CHANNELS)) {
            b.optInChannels((int) patch[1]);
        }
        long[] head = shapes.get("head.weight");
        if (!args.containsKey(TimmModelLoader.ARG_NUM_CLASSES)) {
            if (head != null && head.length == 2) {
                b.optNumClasses((int) head[0]);
                if (head[0] != variant.getDefaultNumClasses() && configClasses == null) {
                    logger.info(
                            "{}: {} classes, as the checkpoint's head ({} has {} by default)",
                            checkpoint.getWeights(),
                            head[0],
                            variant.getName(),
                            variant.getDefaultNumClasses());
                }
            } else {
                logger.warn(
                        "{}: the checkpoint has no classifier (headless; config num_classes {});"
                                + " the model gives features (0 classes) instead of the {}"
                                + " classes of {}: give numClasses for a new head",
                        checkpoint.getWeights(),
                        configClasses,
                        variant.getDefaultNumClasses(),
                        variant.getName());
                b.optNumClasses(0);
            }
        }
    }

    private static boolean square(long n) {
        long r = Math.round(Math.sqrt(n));
        return n > 0 && r * r == n;
    }

    /** The Criteria's arguments over everything else. */
    private static void fromArguments(Map<String, Object> args, VisionTransformerBuilder b) {
        Integer v;
        if ((v = TimmModelLoader.intArgument(args, TimmModelLoader.ARG_NUM_CLASSES)) != null) {
            b.optNumClasses(v);
        }
        if ((v = TimmModelLoader.intArgument(args, TimmModelLoader.ARG_IN_CHANNELS)) != null) {
            b.optInChannels(v);
        }
        if ((v = TimmModelLoader.intArgument(args, ARG_IMAGE_SIZE)) != null) {
            b.setImageSize(v);
        }
        if ((v = TimmModelLoader.intArgument(args, ARG_PATCH_SIZE)) != null) {
            b.setPatchSize(v);
        }
        if ((v = TimmModelLoader.intArgument(args, ARG_REG_TOKENS)) != null) {
            b.optRegTokens(v);
        }
        Object o;
        if ((o = args.get(ARG_GLOBAL_POOL)) != null) {
            b.optGlobalPool(o.toString().strip().toLowerCase(Locale.ROOT));
        }
        if ((o = args.get(ARG_NO_EMBED_CLASS)) != null) {
            b.optNoEmbedClass(bool(ARG_NO_EMBED_CLASS, o));
        }
        if ((o = args.get(ARG_DISTILLED)) != null) {
            b.optDistilled(bool(ARG_DISTILLED, o));
        }
        if ((o = args.get(ARG_CLASS_TOKEN)) != null) {
            b.optClassToken(bool(ARG_CLASS_TOKEN, o));
        }
        if ((o = args.get(ARG_INIT_VALUES)) != null) {
            b.optInitValues((float) number(ARG_INIT_VALUES, o));
        }
        if ((o = args.get(ARG_LAYER_NORM_EPS)) != null) {
            b.optLayerNormEps((float) number(ARG_LAYER_NORM_EPS, o));
        }
    }

    private static boolean bool(String key, Object o) {
        String s = o.toString().strip().toLowerCase(Locale.ROOT);
        if (!s.equals("true") && !s.equals("false")) {
            throw new IllegalArgumentException(
                    "argument " + key + " must be true or false, got " + o);
        }
        return Boolean.parseBoolean(s);
    }

    private static double number(String key, Object o) {
        try {
            return Double.parseDouble(o.toString().strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "argument " + key + " must be a number, got " + o, e);
        }
    }
}
