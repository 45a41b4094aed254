package io.github.lbpdjl.zoo;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checkpoint tensor names: timm's and Hugging Face's ViT names mapped to the model's timm names.
 */
final class CheckpointNames {

    private static final Pattern HF_LAYER =
            Pattern.compile("encoder\\.layer\\.(\\d+)\\.(.+)\\.(weight|bias)");

    private CheckpointNames() {}

    /**
     * Tells whether a checkpoint uses Hugging Face ViT names.
     *
     * @param keys the tensor names
     * @return true if any key looks like a Hugging Face ViT name
     */
    static boolean isHuggingFace(Iterable<String> keys) {
        for (String k : keys) {
            if (k.contains("embeddings.patch_embeddings")
                    || k.startsWith("vit.")
                    || k.startsWith("encoder.layer.")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Returns which part of a Hugging Face qkv a key is.
     *
     * @param key the checkpoint key
     * @return 0 (query), 1 (key), 2 (value) or -1 (not part of a qkv)
     */
    static int qkvRole(String key) {
        if (key.contains(".attention.attention.query.")) {
            return 0;
        }
        if (key.contains(".attention.attention.key.")) {
            return 1;
        }
        if (key.contains(".attention.attention.value.")) {
            return 2;
        }
        return -1;
    }

    /**
     * Maps a timm key to the model's name (a leading {@code module.} is dropped).
     *
     * @param key the timm key
     * @return the name
     */
    static String fromTimm(String key) {
        return key.startsWith("module.") ? key.substring("module.".length()) : key;
    }

    /**
     * Maps a Hugging Face ViT key to the timm name.
     *
     * @param key the HF key
     * @return the timm name, "" for keys to ignore, null for unknown keys
     */
    static String fromHuggingFace(String key) {
        if (key.startsWith("classifier.")) {
            return "head." + key.substring("classifier.".length());
        }
        String k = key.startsWith("vit.") ? key.substring(4) : key;
        if (k.startsWith("pooler.")) {
            return "";
        }
        switch (k) {
            case "embeddings.cls_token":
                return "cls_token";
            case "embeddings.position_embeddings":
                return "pos_embed";
            case "embeddings.patch_embeddings.projection.weight":
                return "patch_embed.proj.weight";
            case "embeddings.patch_embeddings.projection.bias":
                return "patch_embed.proj.bias";
            case "layernorm.weight":
                return "norm.weight";
            case "layernorm.bias":
                return "norm.bias";
            default:
                break;
        }
        Matcher m = HF_LAYER.matcher(k);
        if (!m.matches()) {
            return null;
        }
        String prefix = "blocks." + m.group(1) + ".";
        String wb = m.group(3);
        switch (m.group(2)) {
            case "layernorm_before":
                return prefix + "norm1." + wb;
            case "layernorm_after":
                return prefix + "norm2." + wb;
            case "attention.attention.query":
            case "attention.attention.key":
            case "attention.attention.value":
                return prefix + "attn.qkv." + wb;
            case "attention.output.dense":
                return prefix + "attn.proj." + wb;
            case "intermediate.dense":
                return prefix + "mlp.fc1." + wb;
            case "output.dense":
                return prefix + "mlp.fc2." + wb;
            default:
                return null;
        }
    }
}
