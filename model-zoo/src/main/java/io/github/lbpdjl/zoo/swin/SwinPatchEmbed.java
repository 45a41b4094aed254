package io.github.lbpdjl.zoo.swin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.vit.TimmBlock;

/**
 * timm's {@code PatchEmbed} as SwinV2 uses it: {@code proj} (Conv2d, kernel = stride = patch), the
 * map made NHWC, then {@code norm} (LayerNorm): (B, C_in, H, W) -> (B, H/p, W/p, dim). The
 * convolution's weight starts as PyTorch's default (uniform in +-1/sqrt(fan_in)), its bias at zero.
 */
public class SwinPatchEmbed extends TimmBlock {

    private final int patchSize;
    private final int embedDim;

    /**
     * Creates the patch embedding.
     *
     * @param patchSize the patch side p
     * @param embedDim the output channels
     * @param layerNormEps the LayerNorm epsilon
     */
    public SwinPatchEmbed(int patchSize, int embedDim, float layerNormEps) {
        this.patchSize = patchSize;
        this.embedDim = embedDim;
        Conv2d proj =
                Conv2d.builder()
                        .setKernelShape(new Shape(patchSize, patchSize))
                        .optStride(new Shape(patchSize, patchSize))
                        .setFilters(embedDim)
                        .build();
        proj.setInitializer(
                new XavierInitializer(
                        XavierInitializer.RandomType.UNIFORM, XavierInitializer.FactorType.IN, 1),
                Parameter.Type.WEIGHT);
        addTimmChild("proj", proj);
        addTimmChild("norm", SwinOps.layerNorm(4, layerNormEps));
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray maps = forwardChild(0, parameterStore, inputs.singletonOrThrow(), training, params);
        NDArray nhwc = maps.transpose(0, 2, 3, 1);
        NDList y = child(1).forward(parameterStore, new NDList(nhwc), training, params);
        Intermediates.releaseAll(new NDList(maps, nhwc), inputs, y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {
            new Shape(in.get(0), in.get(2) / patchSize, in.get(3) / patchSize, embedDim)
        };
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        child(0).initialize(manager, dataType, inputShapes);
        child(1).initialize(manager, dataType, getOutputShapes(inputShapes));
    }
}
