package io.github.lbpdjl.zoo.efficientformer;

import static io.github.lbpdjl.zoo.efficientformer.TimmFixture.rel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.RewriteReport;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.zoo.EfficientFormerWeights;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LBP-WHT on EfficientFormer: all-linear takes the Meta3D blocks' Linear layers (the token grid
 * from the model), leaves both classifiers out, keeps the inference logits timm's, and trains.
 */
class EfficientFormerLbpTest {

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void allLinearTakesTheMeta3dLayers(String engine) throws Exception {
        TimmFixture f = new TimmFixture(TimmFixture.TINY3);
        EfficientFormer model = f.builder().build();
        try (Model m = Model.newInstance("ef", Device.cpu(), engine)) {
            m.setBlock(model);
            model.initialize(m.getNDManager());
            EfficientFormerWeights.load(model, f.weights);
            RewriteReport report =
                    LbpRewriter.builder()
                            .optTargets(TargetModules.allLinear())
                            .optConfig(
                                    LbpConfig.builder()
                                            .optSelection(BasisSelection.lowPassL1(2))
                                            .build())
                            .build()
                            .apply(model);
            String b = "stages.2.blocks.2.";
            assertEquals(
                    List.of(
                            b + "token_mixer.qkv",
                            b + "token_mixer.proj",
                            b + "mlp.fc1",
                            b + "mlp.fc2"),
                    report.getReplaced());
            assertTrue(model.getModule(b + "mlp.fc1") instanceof LbpLinear);
            // inference through LbpLinear is exactly Linear
            double err = rel(f.eval(model, m.getNDManager()), f.get("logits"));
            assertTrue(err <= EfficientFormerTimmTest.LOGITS_TOL, engine + " logits " + err);
            try (NDManager batch = m.getNDManager().newSubManager()) {
                NDArray x = batch.create(f.get("input"), model.getInputShape(f.batch));
                NDArray target = batch.create(f.get("target"), new Shape(f.batch, 5));
                try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                    NDArray out =
                            model.forward(new ParameterStore(batch, false), new NDList(x), true)
                                    .singletonOrThrow();
                    gc.backward(out.mul(target).sum());
                }
            }
            for (Map.Entry<String, Parameter> e : model.timmParameters().entrySet()) {
                if (e.getValue().requiresGradient()) {
                    for (float g : e.getValue().getArray().getGradient().toFloatArray()) {
                        assertTrue(Float.isFinite(g), engine + " " + e.getKey());
                    }
                }
            }
        }
    }
}
