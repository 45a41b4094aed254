package io.github.lbpdjl.zoo.vit;

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
import io.github.lbpdjl.zoo.VitWeights;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Autograd through the ViT matches central finite differences. */
class GradientCheckTest {

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void gradientsMatchFiniteDifferences(String engine) {
        VisionTransformer vit =
                VisionTransformer.builder()
                        .setImageSize(8)
                        .setPatchSize(4)
                        .setEmbedDim(8)
                        .setDepth(1)
                        .setNumHeads(2)
                        .optMlpRatio(2)
                        .optNumClasses(3)
                        .optInChannels(1)
                        .build();
        try (Model model = Model.newInstance("g", Device.cpu(), engine)) {
            model.setBlock(vit);
            Engine.getEngine(engine).setRandomSeed(1);
            vit.initialize(model.getNDManager());
            Random rng = new Random(5);
            Map<String, Parameter> params = vit.timmParameters();
            for (Parameter p : params.values()) {
                float[] v = new float[(int) p.getArray().size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (rng.nextGaussian() * 0.5);
                }
                p.getArray().set(v);
            }
            NDManager m = model.getNDManager();
            float[] img = new float[2 * 64];
            for (int i = 0; i < img.length; i++) {
                img[i] = (float) rng.nextGaussian();
            }
            float[] r = new float[6];
            for (int i = 0; i < r.length; i++) {
                r[i] = (float) rng.nextGaussian();
            }
            Map<String, float[]> grads = new LinkedHashMap<>();
            try (NDManager sub = m.newSubManager()) {
                NDArray x = sub.create(img, vit.getInputShape(2));
                NDArray rr = sub.create(r, new Shape(2, 3));
                try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                    NDArray out =
                            vit.forward(new ParameterStore(sub, false), new NDList(x), true)
                                    .singletonOrThrow();
                    gc.backward(out.mul(rr).sum());
                }
                for (Map.Entry<String, Parameter> e : params.entrySet()) {
                    grads.put(e.getKey(), e.getValue().getArray().getGradient().toFloatArray());
                }
            }
            double h = 1e-2;
            StringBuilder bad = new StringBuilder();
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                NDArray a = e.getValue().getArray();
                float[] base = a.toFloatArray();
                for (int k = 0; k < Math.min(3, base.length); k++) {
                    int i = (k * 7919) % base.length;
                    float[] v = base.clone();
                    v[i] = (float) (base[i] + h);
                    VitWeights.assign(a, v);
                    double up = loss(vit, m, img, r);
                    v[i] = (float) (base[i] - h);
                    VitWeights.assign(a, v);
                    double down = loss(vit, m, img, r);
                    VitWeights.assign(a, base);
                    double fd = (up - down) / (2 * h);
                    double g = grads.get(e.getKey())[i];
                    if (Math.abs(fd - g) > 2e-2 * Math.max(1, Math.abs(fd))) {
                        bad.append(
                                String.format(
                                        " %s[%d]: autograd %.5f fd %.5f;", e.getKey(), i, g, fd));
                    }
                }
            }
            assertTrue(bad.length() == 0, engine + bad);
        }
    }

    private static double loss(VisionTransformer vit, NDManager m, float[] img, float[] r) {
        try (NDManager sub = m.newSubManager()) {
            float[] out =
                    vit.forward(
                                    new ParameterStore(sub, false),
                                    new NDList(sub.create(img, vit.getInputShape(2))),
                                    false)
                            .singletonOrThrow()
                            .toFloatArray();
            double s = 0;
            for (int i = 0; i < out.length; i++) {
                s += out[i] * r[i];
            }
            return s;
        }
    }
}
