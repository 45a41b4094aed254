package io.github.lbpdjl.zoo.vit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class VisionTransformerTest {

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void forwardMatchesPlainJavaReference(String engine) {
        VisionTransformer vit =
                VisionTransformer.builder()
                        .setImageSize(8, 12)
                        .setPatchSize(4)
                        .setEmbedDim(8)
                        .setDepth(2)
                        .setNumHeads(2)
                        .optMlpRatio(2)
                        .optNumClasses(3)
                        .optInChannels(2)
                        .build();
        try (Model model = Model.newInstance("ref", Device.cpu(), engine)) {
            model.setBlock(vit);
            Engine.getEngine(engine).setRandomSeed(7);
            vit.initialize(model.getNDManager());
            // make the parameters non-trivial: biases and norms away from 0/1
            Random rng = new Random(3);
            for (Parameter p : vit.timmParameters().values()) {
                NDArray a = p.getArray();
                float[] v = new float[(int) a.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (rng.nextGaussian() * 0.5);
                }
                a.set(v);
            }
            NDManager m = model.getNDManager();
            int batch = 2;
            float[] img = new float[batch * 2 * 8 * 12];
            for (int i = 0; i < img.length; i++) {
                img[i] = (float) rng.nextGaussian();
            }
            NDArray x = m.create(img, vit.getInputShape(batch));
            float[] out =
                    vit.forward(new ParameterStore(m, false), new NDList(x), false)
                            .singletonOrThrow()
                            .toFloatArray();
            ReferenceVit ref = new ReferenceVit(vit);
            for (int b = 0; b < batch; b++) {
                float[] one = Arrays.copyOfRange(img, b * 192, (b + 1) * 192);
                double[] want = ref.forward(one);
                for (int k = 0; k < 3; k++) {
                    assertEquals(
                            want[k],
                            out[b * 3 + k],
                            1e-4 * Math.max(1, Math.abs(want[k])),
                            engine + " logit " + b + "," + k);
                }
            }
        }
    }
}
