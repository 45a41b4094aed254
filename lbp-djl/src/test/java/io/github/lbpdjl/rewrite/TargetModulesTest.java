package io.github.lbpdjl.rewrite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TargetModulesTest {

    @Test
    void regexFromAnAdapterConfigCannotHangTheMatch() {
        // (.*a){20} backtracks about C(40, 20) times on 40 a's (a 24-char path already takes a
        // second with {12}); a pattern from an adapter config cannot make the rewriter hang
        TargetModules evil = TargetModules.regex("(.*a){20}");
        String path = "a".repeat(40) + ".qkv";
        IllegalArgumentException e =
                assertTimeoutPreemptively(
                        Duration.ofSeconds(10),
                        () ->
                                assertThrows(
                                        IllegalArgumentException.class, () -> evil.matches(path)));
        assertTrue(
                e.getMessage().contains("(.*a){20}") && e.getMessage().contains(path),
                e.getMessage());
        // ordinary patterns are unaffected
        TargetModules ok = TargetModules.regex("blocks\\.(10|11)\\..*\\.qkv");
        assertTrue(ok.matches("blocks.11.attn.qkv"));
        assertFalse(ok.matches("blocks.1.attn.qkv"));
        assertEquals(0, TargetModules.globs("blocks.**.fc?").matchingPattern("blocks.3.mlp.fc1"));
    }

    @Test
    void invalidRegexIsAnIllegalArgument() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> TargetModules.regex("ar{{"));
        assertTrue(e.getMessage().contains("ar{{"), e.getMessage());
    }
}
