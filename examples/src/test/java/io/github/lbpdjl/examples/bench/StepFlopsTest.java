package io.github.lbpdjl.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.examples.common.Method.Kind;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.zoo.VitVariant;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import org.junit.jupiter.api.Test;

/** Step FLOP counts of vit_micro_patch4_32 against sums written out by hand. */
class StepFlopsTest {

    // vit_micro_patch4_32: 32x32x1 images, patch 4 -> 8x8 grid + class token, C 64, hidden 128,
    // 4 blocks, 10 classes
    private static final double N = 65;
    private static final double C = 64;
    private static final double H = 128;
    private static final double[][] LAYERS = {{C, 3 * C}, {C, C}, {C, H}, {H, C}};
    private static final double PATCH = 2 * 64 * 16 * C;
    private static final double HEAD = 2 * C * 10;
    private static final double ATTENTION = 4 * N * N * C;

    private static VisionTransformer vit() {
        return VitVariant.fromName("vit_micro_patch4_32").build();
    }

    private static double forwardPerBlock() {
        double f = ATTENTION;
        for (double[] l : LAYERS) {
            f += 2 * N * l[0] * l[1];
        }
        return f;
    }

    @Test
    void fullBackpropOfEveryBlock() {
        double forward = PATCH + HEAD + 4 * forwardPerBlock();
        // backward: twice every product's forward (input + weight gradients), the patch
        // embedding's weight gradient only
        double backward = PATCH + 2 * HEAD + 4 * 2 * forwardPerBlock();
        assertEquals(forward + backward, StepFlops.perSample(vit(), 4, Kind.FULL, null, 0), 1e-6);
    }

    @Test
    void lbpLowPass2OnTheLastTwoBlocks() {
        LbpConfig lp2 = LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build();
        // k = 3 bases, one 8x8 patch: the backward products run on 1 + 3 rows, plus the transforms
        double lbpBlock = 2 * ATTENTION;
        for (double[] l : LAYERS) {
            lbpBlock += 4 * 4 * l[0] * l[1] + 64 * 3 * (2 * l[0] + l[1]);
        }
        double expected = PATCH + HEAD + 4 * forwardPerBlock() + 2 * HEAD + 2 * lbpBlock;
        assertEquals(expected, StepFlops.perSample(vit(), 2, Kind.LBP, lp2, 0), 1e-6);
        assertTrue(expected < StepFlops.perSample(vit(), 2, Kind.FULL, null, 0));
    }

    @Test
    void loraAndLoraWithLbp() {
        int r = 8;
        double forward = PATCH + HEAD + 4 * forwardPerBlock();
        double lora = 0;
        double adapters = 0;
        for (double[] l : LAYERS) {
            adapters += 2 * N * r * (l[0] + l[1]);
            // input gradient through the frozen weight, the adapter's four products
            lora += 2 * N * l[0] * l[1] + 4 * N * r * (l[0] + l[1]);
        }
        double expected = forward + 4 * adapters + 2 * HEAD + 4 * (2 * ATTENTION + lora);
        assertEquals(expected, StepFlops.perSample(vit(), 4, Kind.LORA, null, r), 1e-6);
        LbpConfig lp2 = LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build();
        double loraLbp = 0;
        for (double[] l : LAYERS) {
            loraLbp += 2 * 4 * l[0] * l[1] + 4 * 4 * r * (l[0] + l[1]) + 64 * 3 * (2 * l[0] + l[1]);
        }
        double expectedLbp = forward + 4 * adapters + 2 * HEAD + 4 * (2 * ATTENTION + loraLbp);
        assertEquals(expectedLbp, StepFlops.perSample(vit(), 4, Kind.LORA_LBP, lp2, r), 1e-6);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(
                IllegalArgumentException.class,
                () -> StepFlops.perSample(vit(), 5, Kind.FULL, null, 0));
        assertThrows(
                IllegalArgumentException.class,
                () -> StepFlops.perSample(vit(), 4, Kind.LBP, null, 0));
    }
}
