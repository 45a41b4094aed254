package io.github.lbpdjl.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import org.junit.jupiter.api.Test;

class BackwardFlopsTest {

    @Test
    void vitFc1AtLpL1Order2() {
        // class token + 14x14 grid -> 4 patches of 8x8 (padded 16x16), k = 3
        LbpConfig c = LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build();
        BackwardFlops f = BackwardFlops.of(TokenLayout.grid(1, 14, 14), c, 768, 3072);
        assertEquals(4L * 197 * 768 * 3072, f.getFull());
        long rows = 1 + 3 * 4;
        assertEquals(4L * rows * 768 * 3072 + 64L * 12 * (2 * 768 + 3072), f.getLbp());
        // (1 + 2 * 13 / 197) / 3 plus the transforms: about 0.38, as docs/METHOD.md states
        assertEquals(0.38, f.getStepRatio(), 0.01);
    }

    @Test
    void loraWithAndWithoutLbp() {
        TokenLayout layout = TokenLayout.grid(1, 14, 14);
        // plain LoRA r = 8 on fc1: grad_x through W0 plus four rank-8 products, on 197 rows
        assertEquals(
                2L * 197 * 768 * 3072 + 4L * 197 * 8 * (768 + 3072),
                BackwardFlops.lora(layout, null, 768, 3072, 8));
        LbpConfig c = LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build();
        long rows = 1 + 3 * 4;
        assertEquals(
                2L * rows * 768 * 3072 + 4L * rows * 8 * (768 + 3072) + 64L * 12 * (2 * 768 + 3072),
                BackwardFlops.lora(layout, c, 768, 3072, 8));
        // LoRA alone saves only grad_W: about half of full backprop
        double ratio =
                (double) BackwardFlops.lora(layout, null, 768, 3072, 8)
                        / BackwardFlops.of(layout, c, 768, 3072).getFull();
        assertEquals(0.51, ratio, 0.01);
    }
}
