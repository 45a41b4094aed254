package io.github.lbpdjl.peft;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.internal.JsonInput;
import io.github.lbpdjl.rewrite.TargetModules;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON form of a {@link LoraConfig}, behind {@link LoraConfig#toJson()} and {@link
 * LoraConfig#fromJson(String)}: PEFT's adapter_config.json fields (peft_type "LORA", r, lora_alpha,
 * lora_dropout, use_rslora, rank_pattern, alpha_pattern, target_modules and exclude_modules as
 * "all-linear", a regex string or a list of names, modules_to_save, bias "none", and the defaults
 * of the fields not supported here) plus "lbp". Globs are written as the regex string PEFT reads;
 * the {"globs": [...]} form of earlier versions is still read. Reading refuses, naming the field
 * and value, every field PEFT would honour with a different result than this library gives ({@link
 * LoraFields}).
 */
final class LoraConfigJson {

    private static final Gson GSON =
            new GsonBuilder().setPrettyPrinting().serializeNulls().create();

    private LoraConfigJson() {}

    /** See {@link LoraConfig#toJson()}. */
    static String toJson(LoraConfig c) {
        JsonObject o = new JsonObject();
        o.addProperty("peft_type", "LORA");
        o.add("task_type", JsonNull.INSTANCE);
        o.addProperty("r", c.getRank());
        o.addProperty("lora_alpha", c.getAlpha());
        o.addProperty("lora_dropout", c.getDropout());
        o.addProperty("use_rslora", c.isUseRslora());
        JsonObject ranks = new JsonObject();
        c.getRankPattern().forEach(ranks::addProperty);
        o.add("rank_pattern", ranks);
        JsonObject alphas = new JsonObject();
        c.getAlphaPattern().forEach(alphas::addProperty);
        o.add("alpha_pattern", alphas);
        o.add("target_modules", targetsJson(c.getTargets()));
        if (c.getExclude() != null) {
            o.add("exclude_modules", targetsJson(c.getExclude()));
        }
        if (!c.getModulesToSave().isEmpty()) {
            JsonArray m = new JsonArray();
            c.getModulesToSave().forEach(m::add);
            o.add("modules_to_save", m);
        } else {
            o.add("modules_to_save", JsonNull.INSTANCE);
        }
        o.addProperty("bias", "none");
        o.addProperty("fan_in_fan_out", false);
        o.addProperty("init_lora_weights", true);
        o.addProperty("use_dora", false);
        o.addProperty("lora_bias", false);
        o.add("layers_to_transform", JsonNull.INSTANCE);
        o.add("layers_pattern", JsonNull.INSTANCE);
        LbpConfig lbp = c.getLbp();
        o.add("lbp", lbp == null ? JsonNull.INSTANCE : JsonParser.parseString(lbp.toJson()));
        return GSON.toJson(o);
    }

    /**
     * PEFT reads a list of names or one regex string ({@code re.fullmatch}); globs are written as
     * the equivalent regex string.
     */
    private static JsonElement targetsJson(TargetModules t) {
        if (t.isAllLinear()) {
            return GSON.toJsonTree("all-linear");
        }
        if (t.getKind() != TargetModules.Kind.NAMES) {
            return GSON.toJsonTree(t.toRegex());
        }
        JsonArray arr = new JsonArray();
        t.getPatterns().forEach(arr::add);
        return arr;
    }

    private static TargetModules readTargets(JsonElement e) {
        if (e.isJsonPrimitive()) {
            String s = e.getAsString();
            return s.equals("all-linear") ? TargetModules.allLinear() : TargetModules.regex(s);
        }
        if (e.isJsonObject()) {
            // the form of earlier versions, read as the regex string they now write
            TargetModules globs =
                    TargetModules.globs(
                            strings(e.getAsJsonObject().getAsJsonArray("globs"))
                                    .toArray(new String[0]));
            return TargetModules.regex(globs.toRegex());
        }
        return TargetModules.names(strings(e.getAsJsonArray()).toArray(new String[0]));
    }

    private static boolean present(JsonObject o, String field) {
        return o.has(field) && !o.get(field).isJsonNull();
    }

    private static List<String> strings(JsonArray arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(x -> out.add(x.getAsString()));
        return out;
    }

    /** See {@link LoraConfig#fromJson(String)}. */
    static LoraConfig fromJson(String json) {
        try {
            JsonElement root = JsonInput.parse(json);
            if (!root.isJsonObject()) {
                throw new IllegalArgumentException(
                        "adapter config must be a JSON object, got: " + JsonInput.describe(root));
            }
            JsonObject o = root.getAsJsonObject();
            LoraFields.refuseUnsupported(o);
            LoraConfig.Builder b = LoraConfig.builder();
            if (o.has("r")) {
                b.optRank(o.get("r").getAsInt());
            }
            if (o.has("lora_alpha")) {
                b.optAlpha(o.get("lora_alpha").getAsFloat());
            }
            if (o.has("lora_dropout")) {
                b.optDropout(o.get("lora_dropout").getAsFloat());
            }
            if (present(o, "use_rslora")) {
                b.optUseRslora(o.get("use_rslora").getAsBoolean());
            }
            if (present(o, "rank_pattern")) {
                Map<String, Integer> ranks = new LinkedHashMap<>();
                o.getAsJsonObject("rank_pattern")
                        .entrySet()
                        .forEach(e -> ranks.put(e.getKey(), e.getValue().getAsInt()));
                b.optRankPattern(ranks);
            }
            if (present(o, "alpha_pattern")) {
                Map<String, Float> alphas = new LinkedHashMap<>();
                o.getAsJsonObject("alpha_pattern")
                        .entrySet()
                        .forEach(e -> alphas.put(e.getKey(), e.getValue().getAsFloat()));
                b.optAlphaPattern(alphas);
            }
            if (o.has("target_modules") && !o.get("target_modules").isJsonNull()) {
                b.optTargets(readTargets(o.get("target_modules")));
            }
            if (o.has("exclude_modules") && !o.get("exclude_modules").isJsonNull()) {
                b.optExclude(readTargets(o.get("exclude_modules")));
            }
            if (o.has("modules_to_save") && !o.get("modules_to_save").isJsonNull()) {
                b.optModulesToSave(
                        strings(o.getAsJsonArray("modules_to_save")).toArray(new String[0]));
            }
            if (o.has("lbp") && !o.get("lbp").isJsonNull()) {
                b.optLbp(LbpConfig.fromJson(o.get("lbp").toString()));
            }
            return b.build();
        } catch (JsonParseException
                | IllegalStateException
                | ClassCastException
                | NullPointerException
                | UnsupportedOperationException
                | NumberFormatException e) {
            throw new IllegalArgumentException(
                    "invalid LoRA adapter config JSON: " + e.getMessage(), e);
        }
    }
}
