package io.github.lbpdjl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.Padding;
import io.github.lbpdjl.wht.TokenLayout;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LbpConfigTest {

    @Test
    void defaults() {
        LbpConfig c = LbpConfig.builder().build();
        assertEquals(8, c.getPatchSize());
        assertEquals(BasisSelection.lowPassL1(6), c.getSelection());
        assertEquals(21, c.getBasisCount());
        assertEquals(Padding.ZERO, c.getPadding());
        assertNull(c.getLayout());
    }

    @Test
    void jsonRoundTripOfEveryKind() {
        BasisSelection[] all = {
            BasisSelection.lowPassL1(2),
            BasisSelection.lowPassLinf(4),
            BasisSelection.all(),
            BasisSelection.of(new int[] {0, 0}, new int[] {2, 3})
        };
        for (BasisSelection s : all) {
            LbpConfig c =
                    LbpConfig.builder()
                            .optPatchSize(4)
                            .optSelection(s)
                            .optPadding(Padding.REFLECT)
                            .optLayout(TokenLayout.grid(1, 7, 9))
                            .build();
            LbpConfig back = LbpConfig.fromJson(c.toJson());
            assertEquals(c, back, c.toJson());
        }
        LbpConfig noLayout = LbpConfig.builder().build();
        assertEquals(noLayout, LbpConfig.fromJson(noLayout.toJson()));
        assertEquals(noLayout, LbpConfig.fromJson("{}"));
    }

    @Test
    void badConfigsFailClearly() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> LbpConfig.builder().optPatchSize(6).build());
        assertTrue(
                e.getMessage().contains("power of two") && e.getMessage().contains("6"),
                e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                LbpConfig.builder()
                                        .optPatchSize(4)
                                        .optSelection(BasisSelection.of(new int[] {4, 0}))
                                        .build());
        assertTrue(e.getMessage().contains("[4, 0]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LbpConfig.fromJson("not json {"));
        assertThrows(IllegalArgumentException.class, () -> LbpConfig.fromJson("[1,2]"));
        assertThrows(
                IllegalArgumentException.class, () -> LbpConfig.fromJson("{\"padding\":\"WRAP\"}"));
        assertThrows(
                IllegalArgumentException.class,
                () -> LbpConfig.fromJson("{\"selection\":{\"kind\":\"LOW_PASS_L1\"}}"));
        assertThrows(
                IllegalArgumentException.class,
                () -> LbpConfig.fromJson("{\"selection\":{\"kind\":\"LOW_PASS_L1\",\"order\":0}}"));
        assertThrows(
                IllegalArgumentException.class,
                () ->
                        LbpConfig.fromJson(
                                "{\"layout\":{\"extraTokens\":1,\"height\":0,\"width\":3}}"));
    }

    @Test
    void hostileJsonFailsFastWithIllegalArgument() {
        // a huge power of two passed the check and made bases() loop about 2^61 times
        IllegalArgumentException e =
                assertTimeoutPreemptively(
                        Duration.ofSeconds(10),
                        () ->
                                assertThrows(
                                        IllegalArgumentException.class,
                                        () -> LbpConfig.fromJson("{\"patchSize\":1073741824}")));
        assertTrue(
                e.getMessage().contains("256") && e.getMessage().contains("1073741824"),
                e.getMessage());
        assertEquals(
                256,
                LbpConfig.fromJson("{\"patchSize\":256,\"selection\":{\"kind\":\"ALL\"}}")
                        .getPatchSize());
        // printing a deeply nested element in the message overflowed the stack
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        e = assertThrows(IllegalArgumentException.class, () -> LbpConfig.fromJson(deep));
        assertTrue(e.getMessage().contains("nested deeper than"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> LbpConfig.fromJson("[" + "1,".repeat(10_000) + "1]"));
        assertTrue(
                e.getMessage().length() < 300, "message is shortened: " + e.getMessage().length());
    }
}
