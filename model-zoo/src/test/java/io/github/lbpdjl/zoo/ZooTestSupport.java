package io.github.lbpdjl.zoo;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.io.IOException;
import java.util.Map;
import java.util.Random;

/** Helpers shared by the zoo tests. */
final class ZooTestSupport {

    private ZooTestSupport() {}

    static ZooModel<NDList, NDList> load(String artifact, String engine, Map<String, ?> args)
            throws ModelNotFoundException, MalformedModelException, IOException {
        Criteria.Builder<NDList, NDList> b =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId(artifact)
                        .optEngine(engine);
        for (Map.Entry<String, ?> e : args.entrySet()) {
            b.optArgument(e.getKey(), e.getValue());
        }
        return b.build().loadModel();
    }

    static VisionTransformer vit(ZooModel<?, ?> model) {
        return (VisionTransformer) model.getBlock();
    }

    static float[] input(VisionTransformer vit, int batch, long seed) {
        Random rng = new Random(seed);
        float[] x = new float[(int) vit.getInputShape(batch).size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }

    static float[] logits(ZooModel<?, ?> model, float[] input, int batch) {
        VisionTransformer vit = vit(model);
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDArray x = sub.create(input, vit.getInputShape(batch));
            return vit.forward(new ParameterStore(sub, false), new NDList(x), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    static void assertClose(float[] want, float[] got, double rel, String what) {
        if (want.length != got.length) {
            throw new AssertionError(what + ": length " + got.length + " != " + want.length);
        }
        double scale = 0;
        for (float w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            double tol = rel * Math.max(Math.abs(want[i]), scale * 1e-2) + 1e-7;
            if (Math.abs(want[i] - got[i]) > tol) {
                throw new AssertionError(
                        what
                                + ": element "
                                + i
                                + " expected "
                                + want[i]
                                + " got "
                                + got[i]
                                + " (tolerance "
                                + tol
                                + ")");
            }
        }
    }
}
