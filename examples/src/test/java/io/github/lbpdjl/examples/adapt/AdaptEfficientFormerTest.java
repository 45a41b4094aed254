package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The adaptation program on EfficientFormer-L1: the paper's FLOP table for its last stage, the
 * refusals that belong to the model, and a short run of the last-stage setting.
 */
class AdaptEfficientFormerTest {

    /** EfficientFormer-L1's last stage at 224x224: 49 tokens; (C_in, C_out) of each layer. */
    private static final long[][] LAST_STAGE = {
        {448, 1792},
        {1792, 448},
        {448, 1792},
        {1792, 448},
        {448, 1792},
        {1792, 448}, // Meta4D
        {448, 1536},
        {1024, 448},
        {448, 1792},
        {1792, 448} // Meta3D: qkv, proj, fc1, fc2
    };

    /** METHOD.md's count: grad_x and grad_W on k rows (one 8x8 patch), plus the transforms. */
    private static double lbpMflops(int k) {
        double total = 0;
        for (long[] l : LAST_STAGE) {
            total += 4.0 * k * l[0] * l[1] + 64.0 * k * (2 * l[0] + l[1]);
        }
        return total / 1e6;
    }

    @Test
    void flopsPrintsThePapersFullBackpropCountForTheLastStage(@TempDir Path tmp) {
        CliRun run =
                CliRun.of(
                        Adapt.commandLine(),
                        "--model",
                        "efficientformer_l1",
                        "--train-blocks",
                        "1",
                        "--methods",
                        "full,lbp-l1-2,lbp-l1-8,energy-0.9",
                        "--data",
                        tmp.resolve("no-data-needed").toString(),
                        "--flops");
        assertEquals(0, run.exitCode(), run.toString());
        // the paper's table: full backprop of the last stage, 1483.6 MFLOPs per image
        assertTrue(run.out().contains("| full | 64 | 1483.6 | 100.0% |"), run.out());
        assertTrue(run.out().contains("10 token-wise layers"), run.out());
        for (int[] order : new int[][] {{2, 3}, {8, 36}}) {
            String row =
                    String.format(
                            Locale.ROOT,
                            "| lbp-l1-%d | %d | %.1f |",
                            order[0],
                            order[1],
                            lbpMflops(order[1]));
            assertTrue(run.out().contains(row), row + " in\n" + run.out());
        }
        assertTrue(run.out().contains("| energy-0.9 | chosen in training |"), run.out());
        assertTrue(Files.notExists(tmp.resolve("no-data-needed")));
    }

    @Test
    void loraAndTooManyStagesAreRefusedNamingTheModel(@TempDir Path tmp) {
        CliRun lora =
                CliRun.of(
                        Adapt.commandLine(),
                        "--model",
                        "efficientformer_l1",
                        "--methods",
                        "full,lora-8",
                        "--data",
                        tmp.toString(),
                        "--flops");
        assertEquals(2, lora.exitCode(), lora.toString());
        assertTrue(
                lora.err().startsWith("Invalid value for option '--methods': 'lora-8' is LoRA")
                        && lora.err().contains("1x1 convolutions"),
                lora.toString());
        CliRun stages =
                CliRun.of(
                        Adapt.commandLine(),
                        "--model",
                        "efficientformer_l1",
                        "--train-blocks",
                        "5",
                        "--data",
                        tmp.toString(),
                        "--flops");
        assertEquals(2, stages.exitCode(), stages.toString());
        assertTrue(
                stages.err().contains("'5' is not 'all' or a number of stages in 1..4"),
                stages.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void theLastStageSettingTrainsOnUpsampledDigits(String engine, @TempDir Path tmp)
            throws Exception {
        Path data = TinyIdx.write(tmp.resolve("data"), 16, 8);
        Adapt a = new Adapt();
        a.model = "efficientformer_l1";
        a.engine = engine;
        a.trainBlocks = "1";
        a.data = data.toString();
        a.pretrained = "none";
        a.methods = List.of("full", "lbp-l1-2");
        a.epochs = 1;
        a.batch = 8;
        a.energyEvery = 1;
        a.out = tmp.resolve("out");
        assertEquals(0, a.call());
        List<String> csv = Files.readAllLines(a.out.resolve("results.csv"));
        List<String> header = List.of(csv.get(0).split(","));
        String[] full = csv.get(1).split(",", -1);
        String[] lbp = csv.get(2).split(",", -1);
        int flops = header.indexOf("backward_mflops_per_image");
        assertEquals(1483.6, Double.parseDouble(full[flops]), 0.05);
        assertEquals(lbpMflops(3), Double.parseDouble(lbp[flops]), 0.05);
        int energy = header.indexOf("energy_kept");
        double kept = Double.parseDouble(lbp[energy]);
        assertTrue(kept > 0 && kept <= 1, "LBP-WHT's conv and linear layers report energy " + kept);
        if (engine.equals("PyTorch")) {
            // saved, then loaded as weights: the count does not read the file's recorded shapes
            Adapt b = new Adapt();
            b.model = "efficientformer_l1";
            b.trainBlocks = "1";
            b.data = data.toString();
            b.pretrained = "none";
            b.methods = List.of("full");
            b.epochs = 1;
            b.batch = 8;
            b.save = true;
            b.out = tmp.resolve("saved");
            assertEquals(0, b.call());
            Adapt c = new Adapt();
            c.model = "efficientformer_l1";
            c.trainBlocks = "1";
            c.data = data.toString();
            c.weights = b.out.resolve("models/full/model.safetensors").toString();
            c.methods = List.of("lbp-l1-2");
            c.epochs = 1;
            c.batch = 8;
            c.out = tmp.resolve("reloaded");
            assertEquals(0, c.call());
            List<String> again = Files.readAllLines(c.out.resolve("results.csv"));
            assertEquals(
                    lbpMflops(3), Double.parseDouble(again.get(1).split(",", -1)[flops]), 0.05);
        }
        int params = header.indexOf("trainable_params");
        // the last stage without its norms, counted from timm's shapes: downsample conv 903,616;
        // three Meta4D blocks 3 x 1,608,768; the Meta3D block 2,758,024 (attention biases 8 x 49,
        // qkv, proj, fc1, fc2, two layer scales); the two 10-class heads 8,980
        long expected = 903_616 + 3 * 1_608_768 + 2_758_024 + 8_980;
        assertEquals(expected, Long.parseLong(full[params]), "what trains");
        assertEquals(full[params], lbp[params], "the same parameters train");
    }

    @Test
    void cifarReachesEfficientFormerInColour(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectories(tmp.resolve("cifar"));
        byte[] records = new byte[16 * 3073];
        for (int i = 0; i < 16; i++) {
            System.arraycopy(
                    ImageDataTest.record(i % 10, 17 * i, 255 - 9 * i, 40),
                    0,
                    records,
                    i * 3073,
                    3073);
        }
        for (int b = 1; b <= 5; b++) {
            Files.write(data.resolve("data_batch_" + b + ".bin"), records);
        }
        Files.write(data.resolve("test_batch.bin"), records);
        CliRun run =
                CliRun.of(
                        Adapt.commandLine(),
                        "--model",
                        "efficientformer_l1",
                        "--train-blocks",
                        "1",
                        "--data",
                        data.toString(),
                        "--format",
                        "cifar10",
                        "--methods",
                        "lbp-l1-2",
                        "--train-size",
                        "8",
                        "--test-size",
                        "8",
                        "--batch",
                        "8",
                        "--epochs",
                        "1",
                        "--out",
                        tmp.resolve("out").toString());
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(
                Files.readString(tmp.resolve("out").resolve("results.csv")).contains("lbp-l1-2"));
        Adapt a = new Adapt();
        a.data = data.toString();
        a.format = "cifar10";
        a.model = "efficientformer_l1";
        assertEquals(3, a.splits().channels(), "colour for a three-channel model");
        a.model = "vit_micro_patch4_32";
        assertEquals(1, a.splits().channels(), "grey for the MNIST ViT");
    }
}
