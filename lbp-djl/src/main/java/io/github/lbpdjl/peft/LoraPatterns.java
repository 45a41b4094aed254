package io.github.lbpdjl.peft;

import io.github.lbpdjl.rewrite.TargetModules;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * PEFT's per-layer rank and alpha ({@code rank_pattern}, {@code alpha_pattern}) and its scaling
 * rule: a layer takes the value of the first key (in the map's order) that matches its path as
 * PEFT's {@code get_pattern_key} does, {@code re.match(r"(.*\.)?(KEY)$", path)}, i.e. the key, a
 * regular expression, matches the whole path or a suffix of it that starts after a dot; the scaling
 * is alpha / r, or alpha / sqrt(r) with {@code use_rslora}.
 */
final class LoraPatterns {

    private LoraPatterns() {}

    static String layer(String name) {
        return name == null ? "LoRA" : "LoRA layer '" + name + "'";
    }

    /** Checks r, alpha and dropout, naming the layer (or "LoRA") in the message. */
    static void checkHyperparameters(String name, int rank, float alpha, float dropout) {
        if (rank < 1) {
            throw new IllegalArgumentException(layer(name) + ": rank r must be >= 1, got " + rank);
        }
        if (!(alpha > 0) || Float.isInfinite(alpha)) {
            throw new IllegalArgumentException(
                    layer(name) + ": alpha must be a finite number > 0, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException(
                    layer(name) + ": dropout must be in [0, 1), got " + dropout);
        }
    }

    /** The scaling of a layer: alpha / sqrt(r) with rsLoRA, else alpha / r. */
    static float scaling(int rank, float alpha, boolean rslora) {
        return rslora ? (float) (alpha / Math.sqrt(rank)) : alpha / rank;
    }

    /**
     * The value of the first key that matches a path, or the default.
     *
     * @param pattern key to value, in PEFT's order
     * @param path the module path, e.g. {@code blocks.0.attn.qkv}
     * @param fallback the value when no key matches
     */
    static <V> V lookup(Map<String, V> pattern, String path, V fallback) {
        for (Map.Entry<String, V> e : pattern.entrySet()) {
            if (matcher(e.getKey()).matches(path)) {
                return e.getValue();
            }
        }
        return fallback;
    }

    /** The key as PEFT matches it, with the match budget of {@link TargetModules}. */
    private static TargetModules matcher(String key) {
        return TargetModules.regex("(.*\\.)?(" + key + ")");
    }

    /**
     * Copies and checks a rank_pattern: every key a valid expression, every rank at least 1.
     *
     * @throws IllegalArgumentException naming the key and value
     */
    static Map<String, Integer> ranks(Map<String, Integer> pattern) {
        Map<String, Integer> out = new LinkedHashMap<>();
        pattern.forEach(
                (k, r) -> {
                    checkKey("rank_pattern", k);
                    if (r == null || r < 1) {
                        throw new IllegalArgumentException(
                                "rank_pattern '" + k + "': rank r must be >= 1, got " + r);
                    }
                    out.put(k, r);
                });
        return Collections.unmodifiableMap(out);
    }

    /**
     * Copies and checks an alpha_pattern: every key a valid expression, every alpha finite and
     * positive.
     *
     * @throws IllegalArgumentException naming the key and value
     */
    static Map<String, Float> alphas(Map<String, Float> pattern) {
        Map<String, Float> out = new LinkedHashMap<>();
        pattern.forEach(
                (k, a) -> {
                    checkKey("alpha_pattern", k);
                    if (a == null || !(a > 0) || a.isInfinite()) {
                        throw new IllegalArgumentException(
                                "alpha_pattern '"
                                        + k
                                        + "': alpha must be a finite number > 0, got "
                                        + a);
                    }
                    out.put(k, a);
                });
        return Collections.unmodifiableMap(out);
    }

    private static void checkKey(String field, String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException(field + " has an empty key");
        }
        try {
            matcher(key);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    field + " key '" + key + "' is not a valid regular expression", e);
        }
    }
}
