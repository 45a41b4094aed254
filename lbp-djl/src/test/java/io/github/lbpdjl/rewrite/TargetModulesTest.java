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

    /**
     * toRegex (what PEFT reads as a target_modules string, re.fullmatch) matches the same paths;
     * the strings are checked with Python's re too: (blocks\.[^.]*\.qkv)|(blocks\.[^.]\.fc1.*) and
     * (.*\.)?(attn\.proj|fc1).
     */
    @Test
    void toRegexMatchesWhatTheTargetsMatch() {
        TargetModules globs = TargetModules.globs("blocks.*.qkv", "blocks.?.fc1**");
        TargetModules names = TargetModules.names("attn.proj", "fc1");
        assertEquals("(blocks\\.[^.]*\\.qkv)|(blocks\\.[^.]\\.fc1.*)", globs.toRegex());
        assertEquals("(.*\\.)?(attn\\.proj|fc1)", names.toRegex());
        assertEquals("a|b", TargetModules.regex("a|b").toRegex());
        String[] paths = {
            "blocks.0.qkv",
            "blocks.0.attn.qkv",
            "blocks.1.fc1",
            "blocks.12.fc1",
            "blocks.1.fc1x",
            "blocks.0.attn.proj",
            "blocks.0.xattn.proj",
            "attn.proj",
            "fc1",
            "patch_embed.proj"
        };
        for (TargetModules t : new TargetModules[] {globs, names}) {
            TargetModules back = TargetModules.regex(t.toRegex());
            for (String p : paths) {
                assertEquals(t.matches(p), back.matches(p), t + " on " + p);
            }
        }
        assertThrows(IllegalStateException.class, () -> TargetModules.allLinear().toRegex());
    }

    @Test
    void invalidRegexIsAnIllegalArgument() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> TargetModules.regex("ar{{"));
        assertTrue(e.getMessage().contains("ar{{"), e.getMessage());
    }
}
