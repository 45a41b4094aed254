package io.github.lbpdjl.examples;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A small demo: a token model whose linear layers are {@link LbpLinear} trains for a few steps on a
 * synthetic task; it prints the loss and the backward FLOPs LBP-WHT saves.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description =
                "Train a small LbpLinear model for a few steps; print loss and backward FLOPs"
                        + " saved.")
public final class Demo implements Callable<Integer> {

    @Option(names = "--engine", description = "PyTorch or MXNet (default: ${DEFAULT-VALUE}).")
    String engine = "PyTorch";

    @Option(names = "--steps", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps = 30;

    @Option(
            names = "--order",
            description = "LP_L1 order of the LBP layers (default: ${DEFAULT-VALUE}).")
    int order = 2;

    /**
     * Runs the demo.
     *
     * @param args see --help
     */
    public static void main(String[] args) {
        Offline.ensure();
        System.exit(new CommandLine(new Demo()).execute(args));
    }

    @Override
    public Integer call() {
        TokenLayout layout = TokenLayout.grid(1, 8, 8);
        LbpConfig config =
                LbpConfig.builder()
                        .optSelection(BasisSelection.lowPassL1(order))
                        .optLayout(layout)
                        .build();
        int features = 16;
        int hidden = 64;
        int classes = 4;
        int batch = 32;
        Block block =
                new SequentialBlock()
                        .add(
                                LbpLinear.builder()
                                        .setUnits(hidden)
                                        .optConfig(config)
                                        .optName("fc1")
                                        .build())
                        .add(Activation::relu)
                        .add(
                                LbpLinear.builder()
                                        .setUnits(features)
                                        .optConfig(config)
                                        .optName("fc2")
                                        .build())
                        .add(x -> new NDList(x.singletonOrThrow().mean(new int[] {1})))
                        .add(Linear.builder().setUnits(classes).build());
        Engine eng = Engine.getEngine(engine);
        eng.setRandomSeed(7);
        try (Model model = Model.newInstance("lbp-demo", eng.getEngineName());
                NDManager data = eng.newBaseManager()) {
            model.setBlock(block);
            // a synthetic task: the class is the argmax of a fixed projection of the mean token
            NDArray teacher = data.randomNormal(new Shape(features, classes));
            DefaultTrainingConfig tc =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    Optimizer.adam()
                                            .optLearningRateTracker(Tracker.fixed(3e-3f))
                                            .build());
            try (Trainer trainer = model.newTrainer(tc)) {
                Shape input = new Shape(batch, layout.getTokenCount(), features);
                trainer.initialize(input);
                System.out.printf(
                        Locale.ROOT,
                        "engine %s, %s, layers fc1 %d->%d and fc2 %d->%d%n",
                        eng.getEngineName(),
                        config,
                        features,
                        hidden,
                        hidden,
                        features);
                for (int step = 1; step <= steps; step++) {
                    try (NDManager m = data.newSubManager()) {
                        NDArray x =
                                m.randomNormal(input)
                                        .add(m.randomNormal(new Shape(batch, 1, features)));
                        NDArray y = x.mean(new int[] {1}).matMul(teacher).argMax(1);
                        float loss;
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray l =
                                    trainer.getLoss()
                                            .evaluate(
                                                    new NDList(y), trainer.forward(new NDList(x)));
                            gc.backward(l);
                            loss = l.getFloat();
                        }
                        trainer.step();
                        if (step == 1 || step % 5 == 0) {
                            System.out.printf(Locale.ROOT, "step %3d  loss %.4f%n", step, loss);
                        }
                    }
                }
            }
        }
        BackwardFlops f1 = BackwardFlops.of(layout, config, features, hidden);
        BackwardFlops f2 = BackwardFlops.of(layout, config, hidden, features);
        long full = f1.getFull() + f2.getFull();
        long lbp = f1.getLbp() + f2.getLbp();
        System.out.printf(
                Locale.ROOT,
                "backward FLOPs of the LBP layers per sample: %.3f MFLOPs instead of %.3f MFLOPs"
                        + " (%.1f%% saved)%n",
                lbp / 1e6,
                full / 1e6,
                100.0 * (full - lbp) / full);
        return 0;
    }
}
