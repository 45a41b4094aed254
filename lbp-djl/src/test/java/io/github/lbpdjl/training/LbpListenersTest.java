package io.github.lbpdjl.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.metric.Metrics;
import ai.djl.nn.Block;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The listeners one by one, as LbpListeners.defaults gives them, on the listener test's model. */
class LbpListenersTest {

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void defaultsPrepareCheckAndReport(String engine) throws Exception {
        FineTuning ft =
                FineTuning.builder()
                        .optLbp(
                                LbpRewriter.builder()
                                        .optConfig(
                                                LbpConfig.builder()
                                                        .optSelection(BasisSelection.lowPassL1(2))
                                                        .optLayout(TokenLayout.grid(1, 8, 8))
                                                        .build())
                                        .build())
                        .optFrozen(TargetModules.regex("0\\..*"))
                        .build();
        List<TrainingListener> listeners =
                new ArrayList<>(Arrays.asList(LbpListeners.defaults(ft)));
        List<Map<String, Block>> seen = new ArrayList<>();
        List<Boolean> normTrainable = new ArrayList<>();
        listeners.add(
                new TrainingListenerAdapter() {
                    @Override
                    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                        if (seen.isEmpty()) {
                            seen.add(BlockTree.modules(trainer.getModel().getBlock()));
                            normTrainable.add(
                                    seen.get(0)
                                            .get("0")
                                            .getParameters()
                                            .get("gamma")
                                            .requiresGradient());
                        }
                    }
                });
        Metrics metrics = new Metrics();
        float[] losses = LbpTrainingListenerTest.train(engine, 2, listeners, metrics);

        Map<String, Block> modules = seen.get(0);
        assertInstanceOf(LbpLinear.class, modules.get("1"));
        assertInstanceOf(LbpLinear.class, modules.get("3"));
        assertEquals(List.of(false), normTrainable, "the LayerNorm was frozen after newTrainer");
        assertTrue(metrics.hasMetric(BackwardFlopsListener.METRIC_LBP_MFLOPS));
        double lbp = metrics.latestMetric(BackwardFlopsListener.METRIC_LBP_MFLOPS).getValue();
        double full = metrics.latestMetric(BackwardFlopsListener.METRIC_FULL_MFLOPS).getValue();
        assertTrue(lbp > 0 && lbp < full, "backward MFLOPs " + lbp + " of " + full);
        assertTrue(metrics.hasMetric(GradientEnergyListener.METRIC_ENERGY + ".1"));
        assertTrue(losses[1] < losses[0], "loss goes down: " + Arrays.toString(losses));
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void scheduleStateRoundTripsAndRefusesOtherModels(String engine) throws Exception {
        LbpScheduleListener schedule = new LbpScheduleListener(100, 0, null);
        FineTuning ft =
                FineTuning.builder()
                        .optLbp(LbpRewriter.builder().optTargets(TargetModules.names("1")).build())
                        .build();
        List<String> states = new ArrayList<>();
        List<TrainingListener> listeners =
                List.of(
                        new FineTuningListener(ft, false),
                        schedule,
                        new TrainingListenerAdapter() {
                            @Override
                            public void onTrainingEnd(Trainer trainer) {
                                states.add(schedule.getState());
                                schedule.restoreState(states.get(0));
                            }
                        });
        LbpTrainingListenerTest.train(engine, 1, listeners, new Metrics());
        assertEquals(states.get(0), schedule.getState(), "restoring a state gives it back");
        assertTrue(states.get(0).contains("\"steps\":8"), states.get(0));
        assertThrows(
                IllegalArgumentException.class,
                () -> schedule.restoreState(states.get(0).replace("\"1\"", "\"7\"")),
                "a state naming other layers is refused");
        assertThrows(IllegalArgumentException.class, () -> schedule.restoreState("[1, 2]"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void layersKeepingLittleEnergyAreNamed(String engine) throws Exception {
        FineTuning ft =
                FineTuning.builder()
                        .optLbp(
                                LbpRewriter.builder()
                                        .optConfig(
                                                LbpConfig.builder()
                                                        .optSelection(BasisSelection.lowPassL1(1))
                                                        .build())
                                        .build())
                        .build();
        GradientEnergyListener strict = GradientEnergyListener.sampling(1).setWarnBelow(1.0);
        GradientEnergyListener silent = GradientEnergyListener.sampling(1).setWarnBelow(0.0);
        LbpTrainingListenerTest.train(
                engine, 1, List.of(new FineTuningListener(ft, false), strict), new Metrics());
        // one basis of 64 keeps less than all of the energy of a random gradient
        assertEquals(List.of("1", "3"), List.copyOf(strict.getLowEnergyLayers().keySet()));
        LbpTrainingListenerTest.train(
                engine, 1, List.of(new FineTuningListener(ft, false), silent), new Metrics());
        assertTrue(silent.getLowEnergyLayers().isEmpty());
        assertThrows(IllegalArgumentException.class, () -> silent.setWarnBelow(1.5));
    }
}
