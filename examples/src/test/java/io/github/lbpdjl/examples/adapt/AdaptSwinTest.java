package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.lbpdjl.examples.common.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adaptation program on SwinV2-T (window 8, 256x256): the backward FLOPs of its last stage
 * (patch merging and two blocks, each layer on its own grid) and a short run of that setting. Both
 * run in a child JVM: a 28M-parameter model in the test JVM changed the float rounding of later
 * in-process runs (AdaptCheckpointTest compares one bit for bit with child-JVM runs).
 */
class AdaptSwinTest {

    private static final String MODEL = "swinv2_tiny_window8_256";

    /**
     * The last stage at 256x256: an 8x8 map (64 tokens, one 8x8 patch, one window); (C_in, C_out)
     * of the reduction, then of each block's qkv, proj, fc1, fc2.
     */
    private static final long[][] LAST_STAGE = {
        {1536, 768},
        {768, 2304},
        {768, 768},
        {768, 3072},
        {3072, 768},
        {768, 2304},
        {768, 768},
        {768, 3072},
        {3072, 768}
    };

    /** Full backprop: grad_x and grad_W, 2 N C_in C_out multiply-adds each, on 64 tokens. */
    private static double fullMflops() {
        double total = 0;
        for (long[] l : LAST_STAGE) {
            total += 4.0 * 64 * l[0] * l[1];
        }
        return total / 1e6;
    }

    /** METHOD.md's count: grad_x and grad_W on k rows (one 8x8 patch), plus the transforms. */
    private static double lbpMflops(int k) {
        double total = 0;
        for (long[] l : LAST_STAGE) {
            total += 4.0 * k * l[0] * l[1] + 64.0 * k * (2 * l[0] + l[1]);
        }
        return total / 1e6;
    }

    @Test
    void flopsCountsEachLayerOnItsGrid(@TempDir Path tmp) throws Exception {
        List<String> lines = new ArrayList<>();
        ChildJvm.Finished run =
                ChildJvm.of(Adapt.class)
                        .args(
                                List.of(
                                        "--model",
                                        MODEL,
                                        "--train-blocks",
                                        "1",
                                        "--methods",
                                        "full,lbp-l1-2,lbp-l1-4",
                                        "--data",
                                        tmp.resolve("no-data-needed").toString(),
                                        "--flops"))
                        .run(lines::add);
        String out = String.join("\n", lines);
        assertEquals(0, run.exitCode(), out);
        assertTrue(out.contains("9 token-wise layers"), out);
        String full = String.format(Locale.ROOT, "| full | 64 | %.1f | 100.0%% |", fullMflops());
        assertTrue(out.contains(full), full + " in\n" + out);
        for (int[] order : new int[][] {{2, 3}, {4, 10}}) {
            String row =
                    String.format(
                            Locale.ROOT,
                            "| lbp-l1-%d | %d | %.1f |",
                            order[0],
                            order[1],
                            lbpMflops(order[1]));
            assertTrue(out.contains(row), row + " in\n" + out);
        }
    }

    @Test
    void theLastStageTrainsOnUpsampledDigits(@TempDir Path tmp) throws Exception {
        Path data = TinyIdx.write(tmp.resolve("data"), 8, 8);
        Path out = tmp.resolve("out");
        List<String> lines = new ArrayList<>();
        ChildJvm.Finished run =
                ChildJvm.of(Adapt.class)
                        .args(
                                List.of(
                                        "--model",
                                        MODEL,
                                        "--engine",
                                        "PyTorch",
                                        "--train-blocks",
                                        "1",
                                        "--data",
                                        data.toString(),
                                        "--pretrained",
                                        "none",
                                        "--methods",
                                        "full,lbp-l1-2",
                                        "--epochs",
                                        "1",
                                        "--batch",
                                        "8",
                                        "--energy-every",
                                        "1",
                                        "--out",
                                        out.toString()))
                        .run(lines::add);
        assertEquals(0, run.exitCode(), String.join("\n", lines));
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        List<String> header = List.of(csv.get(0).split(","));
        String[] full = csv.get(1).split(",", -1);
        String[] lbp = csv.get(2).split(",", -1);
        int flops = header.indexOf("backward_mflops_per_image");
        assertEquals(fullMflops(), Double.parseDouble(full[flops]), 0.05);
        assertEquals(lbpMflops(3), Double.parseDouble(lbp[flops]), 0.05);
        int energy = header.indexOf("energy_kept");
        double kept = Double.parseDouble(lbp[energy]);
        assertTrue(kept > 0 && kept <= 1, "the Swin layers report energy " + kept);
    }
}
