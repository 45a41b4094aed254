package io.github.lbpdjl.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VitVariantTest {

    /** Parameter counts as timm reports them (1000 classes, 3 channels). */
    @ParameterizedTest
    @CsvSource({
        "vit_tiny_patch16_224, 5717416",
        "deit_tiny_patch16_224, 5717416",
        "vit_small_patch16_224, 22050664",
        "deit_small_patch16_224, 22050664",
        "vit_base_patch16_224, 86567656",
        "deit_base_patch16_224, 86567656",
        "vit_micro_patch4_32, 0"
    })
    void shapesAndParameterCounts(String name, long timmCount) {
        VitVariant v = VitVariant.fromName(name);
        VisionTransformer vit = v.build();
        int size = v.getImageSize();
        int classes = v.getDefaultNumClasses();
        Shape in = new Shape(1, v.getDefaultInChannels(), size, size);
        assertEquals(new Shape(1, classes), vit.getOutputShapes(new Shape[] {in})[0]);
        int grid = size / vit.getPatchSize();
        assertEquals(TokenLayout.grid(1, grid, grid), TokenLayout.of(vit));
        if (timmCount == 0) {
            return;
        }
        // initialise without random fill cost: only shapes matter here
        try (Model model = Model.newInstance(name, Device.cpu(), "PyTorch")) {
            model.setBlock(vit);
            vit.setInitializer(Initializer.ZEROS, p -> true);
            vit.initialize(model.getNDManager());
            long count = 0;
            for (Parameter p : vit.timmParameters().values()) {
                count += p.getArray().size();
            }
            assertEquals(timmCount, count, name);
            if (name.startsWith("vit_tiny")) {
                NDManager m = model.getNDManager();
                NDArray x = m.zeros(in);
                NDArray y =
                        vit.forward(new ParameterStore(m, false), new NDList(x), false)
                                .singletonOrThrow();
                assertEquals(new Shape(1, 1000), y.getShape());
            }
        }
    }

    @Test
    void microForwardShapeOnBothEngines() {
        for (String engine : new String[] {"PyTorch", "MXNet"}) {
            VisionTransformer vit =
                    VitVariant.VIT_MICRO_PATCH4_32.builder().optNumClasses(7).build();
            try (Model model = Model.newInstance("micro", Device.cpu(), engine)) {
                model.setBlock(vit);
                vit.initialize(model.getNDManager());
                NDManager m = model.getNDManager();
                NDArray y =
                        vit.forward(
                                        new ParameterStore(m, false),
                                        new NDList(m.randomNormal(vit.getInputShape(3))),
                                        false)
                                .singletonOrThrow();
                assertEquals(new Shape(3, 7), y.getShape(), engine);
            }
        }
    }
}
