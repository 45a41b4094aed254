package io.github.lbpdjl.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes {@link LoraConfig#fromJson}, the reader of PEFT's adapter_config.json
 * (docs/RELIABILITY.md): any text gives a configuration that survives a JSON round trip, or an
 * IllegalArgumentException; nothing else may be thrown, and nothing may hang. Seeds:
 * src/test/resources/io/github/lbpdjl/peft/LoraConfigFuzzTestInputs/.
 */
class LoraConfigFuzzTest {

    @FuzzTest(maxDuration = "60s")
    @DictionaryEntries({
        "\"peft_type\"",
        "\"LORA\"",
        "\"r\"",
        "\"lora_alpha\"",
        "\"lora_dropout\"",
        "\"target_modules\"",
        "\"all-linear\"",
        "\"globs\"",
        "\"use_rslora\"",
        "\"rank_pattern\"",
        "\"alpha_pattern\"",
        "\"use_dora\"",
        "\"init_lora_weights\"",
        "\"gaussian\"",
        "true",
        "false",
        "\"exclude_modules\"",
        "\"modules_to_save\"",
        "\"bias\"",
        "\"none\"",
        "\"lbp\"",
        "\"patchSize\"",
        "\"selection\"",
        "\"kind\"",
        "\"order\"",
        "\"LOW_PASS_L1\"",
        "\"EXPLICIT\"",
        "\"bases\"",
        "\"layout\"",
        "null"
    })
    void fromJson(byte[] input) {
        String json = new String(input, StandardCharsets.UTF_8);
        LoraConfig c;
        try {
            c = LoraConfig.fromJson(json);
        } catch (IllegalArgumentException e) {
            return;
        }
        LoraConfig back = LoraConfig.fromJson(c.toJson());
        assertEquals(c, back, json);
        assertEquals(c.hashCode(), back.hashCode());
        c.toString();
        // the targets (maybe a regex from the file) match module paths without hanging
        for (String path : PATHS) {
            try {
                c.getTargets().matches(path);
                if (c.getExclude() != null) {
                    c.getExclude().matches(path);
                }
            } catch (IllegalArgumentException e) {
                // a pattern that backtracks catastrophically is refused
            }
        }
    }

    private static final String[] PATHS = {
        "blocks.0.attn.qkv", "head", "a".repeat(40) + ".qkv", ""
    };
}
