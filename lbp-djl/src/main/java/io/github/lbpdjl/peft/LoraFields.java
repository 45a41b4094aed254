package io.github.lbpdjl.peft;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.lbpdjl.internal.JsonInput;
import java.util.Map;
import java.util.Set;

/**
 * Which fields of PEFT's adapter_config.json (LoRA) {@link LoraConfig#fromJson(String)} honours,
 * which it may ignore because they do not change the adapter's math (bookkeeping, run-time and
 * initialisation options whose result the weights file holds), and which it refuses unless they
 * hold their default: a field that would make PEFT compute something else is never ignored. A field
 * not known here is refused unless it is null, false or empty.
 */
final class LoraFields {

    /** Read by {@link LoraConfigJson}. */
    private static final Set<String> HONOURED =
            Set.of(
                    "peft_type",
                    "r",
                    "lora_alpha",
                    "lora_dropout",
                    "use_rslora",
                    "rank_pattern",
                    "alpha_pattern",
                    "target_modules",
                    "exclude_modules",
                    "modules_to_save",
                    "bias",
                    "init_lora_weights",
                    "lbp");

    /** No effect on what the adapter computes, or only together with a refused field. */
    private static final Set<String> IGNORED =
            Set.of(
                    "task_type",
                    "base_model_name_or_path",
                    "revision",
                    "inference_mode",
                    "auto_mapping",
                    "peft_version",
                    "megatron_config",
                    "megatron_core",
                    "runtime_config",
                    "ensure_weight_tying",
                    "qalora_group_size",
                    "loftq_config",
                    "eva_config",
                    "corda_config",
                    "lora_ga_config");

    /** Refused unless null, false or empty, with what they would change. */
    private static final Map<String, String> REFUSED =
            Map.ofEntries(
                    Map.entry("use_dora", "DoRA's magnitude vector"),
                    Map.entry("lora_bias", "a bias on lora_B"),
                    Map.entry("fan_in_fan_out", "transposed (Conv1D) base weights"),
                    Map.entry("layers_to_transform", "LoRA on some layer indices only"),
                    Map.entry("layers_pattern", "LoRA on some layer indices only"),
                    Map.entry("use_qalora", "QALoRA's pooled inputs"),
                    Map.entry("alora_invocation_tokens", "activated LoRA"),
                    Map.entry("layer_replication", "replicated layers"),
                    Map.entry("trainable_token_indices", "trainable token embeddings"),
                    Map.entry("target_parameters", "LoRA on bare parameters"),
                    Map.entry("use_bdlora", "block-diagonal LoRA"),
                    Map.entry("arrow_config", "Arrow routing"),
                    Map.entry("kasa_config", "a LoRA variant"),
                    Map.entry("velora_config", "a LoRA variant"),
                    Map.entry("monteclora_config", "a LoRA variant"));

    /** init_lora_weights values that leave the base weights as they are. */
    private static final Set<String> INITS =
            Set.of("true", "false", "gaussian", "eva", "orthogonal");

    private LoraFields() {}

    /**
     * Throws if the configuration sets a field not supported here.
     *
     * @param o the adapter_config.json object
     * @throws IllegalArgumentException one line naming the field, its value and what it changes
     */
    static void refuseUnsupported(JsonObject o) {
        for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            String field = e.getKey();
            JsonElement v = e.getValue();
            if (field.equals("peft_type") && !isEmpty(v) && !"LORA".equals(v.getAsString())) {
                throw refused(field, v, "only LORA is supported");
            }
            if (field.equals("bias") && !isEmpty(v) && !"none".equals(v.getAsString())) {
                throw refused(field, v, "only \"none\" is supported");
            }
            if (field.equals("init_lora_weights") && !isEmpty(v) && !INITS.contains(init(v))) {
                throw refused(
                        field,
                        v,
                        "it changes the base weights (PiSSA, OLoRA, CorDA, LoftQ, LoRA-GA) or is a"
                                + " variant not supported here; save the adapter converted to"
                                + " init_lora_weights=true (PEFT's"
                                + " path_initial_model_for_weight_conversion)");
            }
            String change = REFUSED.get(field);
            if (change != null && !isEmpty(v)) {
                throw refused(field, v, change + " is not supported here");
            }
            if (change == null
                    && !HONOURED.contains(field)
                    && !IGNORED.contains(field)
                    && !isEmpty(v)) {
                throw refused(field, v, "a field not known here, which may change the math");
            }
        }
    }

    private static String init(JsonElement v) {
        return v.isJsonPrimitive() ? v.getAsString() : v.toString();
    }

    /** Null, false, 0-free emptiness: an empty string, array or object. */
    private static boolean isEmpty(JsonElement v) {
        if (v == null || v.isJsonNull()) {
            return true;
        }
        if (v.isJsonArray()) {
            return v.getAsJsonArray().isEmpty();
        }
        if (v.isJsonObject()) {
            return v.getAsJsonObject().size() == 0;
        }
        if (v.getAsJsonPrimitive().isBoolean()) {
            return !v.getAsBoolean();
        }
        return v.getAsJsonPrimitive().isString() && v.getAsString().isEmpty();
    }

    private static IllegalArgumentException refused(String field, JsonElement v, String why) {
        return new IllegalArgumentException(
                "adapter config field "
                        + field
                        + " = "
                        + JsonInput.describe(v)
                        + " is not supported: "
                        + why);
    }
}
