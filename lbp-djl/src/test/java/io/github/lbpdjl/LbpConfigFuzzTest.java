package io.github.lbpdjl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes {@link LbpConfig#fromJson} (docs/RELIABILITY.md): any text gives a configuration that
 * survives a JSON round trip, or an IllegalArgumentException; nothing else may be thrown, and
 * nothing may hang. Seeds: src/test/resources/io/github/lbpdjl/LbpConfigFuzzTestInputs/.
 */
class LbpConfigFuzzTest {

    @FuzzTest(maxDuration = "60s")
    @DictionaryEntries({
        "\"patchSize\"",
        "\"selection\"",
        "\"kind\"",
        "\"order\"",
        "\"bases\"",
        "\"LOW_PASS_L1\"",
        "\"LOW_PASS_LINF\"",
        "\"EXPLICIT\"",
        "\"ALL\"",
        "\"padding\"",
        "\"ZERO\"",
        "\"REFLECT\"",
        "\"layout\"",
        "\"extraTokens\"",
        "\"height\"",
        "\"width\""
    })
    void fromJson(byte[] input) {
        String json = new String(input, StandardCharsets.UTF_8);
        LbpConfig c;
        try {
            c = LbpConfig.fromJson(json);
        } catch (IllegalArgumentException e) {
            return;
        }
        c.getBasisCount();
        assertEquals(c, LbpConfig.fromJson(c.toJson()), json);
        assertEquals(c.hashCode(), LbpConfig.fromJson(c.toJson()).hashCode());
        c.toString();
    }
}
