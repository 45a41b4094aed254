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
import java.util.List;

/**
 * The JSON form of a {@link LoraConfig}, behind {@link LoraConfig#toJson()} and {@link
 * LoraConfig#fromJson(String)}: PEFT's adapter_config.json fields (peft_type "LORA", r, lora_alpha,
 * lora_dropout, target_modules as "all-linear", a regex string or a list of names, exclude_modules,
 * modules_to_save, bias "none") plus "lbp" and a {"globs": [...]} form of glob targets.
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
        LbpConfig lbp = c.getLbp();
        o.add("lbp", lbp == null ? JsonNull.INSTANCE : JsonParser.parseString(lbp.toJson()));
        return GSON.toJson(o);
    }

    /**
     * PEFT writes a list of names or one regex string; globs are written as a list plus a marker.
     */
    private static JsonElement targetsJson(TargetModules t) {
        if (t.isAllLinear()) {
            return GSON.toJsonTree("all-linear");
        }
        if (t.getKind() == TargetModules.Kind.REGEX) {
            return GSON.toJsonTree(t.getPatterns().get(0));
        }
        JsonArray arr = new JsonArray();
        t.getPatterns().forEach(arr::add);
        if (t.getKind() == TargetModules.Kind.GLOBS) {
            JsonObject g = new JsonObject();
            g.add("globs", arr);
            return g;
        }
        return arr;
    }

    private static TargetModules readTargets(JsonElement e) {
        if (e.isJsonPrimitive()) {
            String s = e.getAsString();
            return s.equals("all-linear") ? TargetModules.allLinear() : TargetModules.regex(s);
        }
        if (e.isJsonObject()) {
            return TargetModules.globs(
                    strings(e.getAsJsonObject().getAsJsonArray("globs")).toArray(new String[0]));
        }
        return TargetModules.names(strings(e.getAsJsonArray()).toArray(new String[0]));
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
            if (o.has("peft_type") && !"LORA".equals(o.get("peft_type").getAsString())) {
                throw new IllegalArgumentException(
                        "adapter config has peft_type "
                                + JsonInput.describe(o.get("peft_type"))
                                + "; only LORA is supported");
            }
            if (o.has("bias")
                    && !o.get("bias").isJsonNull()
                    && !"none".equals(o.get("bias").getAsString())) {
                throw new IllegalArgumentException(
                        "adapter config has bias "
                                + JsonInput.describe(o.get("bias"))
                                + "; only \"none\" is supported");
            }
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
