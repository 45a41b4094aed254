package io.github.lbpdjl.examples.adapt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.translate.Batchifier;

/**
 * Stacks images into a batch and enlarges them by a whole factor, each pixel repeated over a factor
 * x factor square (nearest neighbour), e.g. 32x32 data for a 224x224 model (factor 7), as the paper
 * feeds CIFAR to ImageNet models. Batch by batch, so the data set stays small in memory.
 */
final class Upsampling implements Batchifier {

    private static final long serialVersionUID = 1L;

    private final int factor;

    /**
     * Creates the batchifier.
     *
     * @param factor the factor, at least 1
     */
    Upsampling(int factor) {
        this.factor = factor;
    }

    /**
     * The factor from the data's image size to the model's.
     *
     * @param dataSize the data's side, e.g. 32
     * @param modelSize the model's side, e.g. 224
     * @return the factor, or 0 if the model's side is not a whole multiple of the data's
     */
    static int factor(long dataSize, long modelSize) {
        return modelSize % dataSize == 0 ? (int) (modelSize / dataSize) : 0;
    }

    @Override
    public NDList batchify(NDList[] inputs) {
        NDList stacked = Batchifier.STACK.batchify(inputs);
        if (factor == 1) {
            return stacked;
        }
        NDArray x = stacked.singletonOrThrow();
        NDList out = new NDList(x.repeat(2, factor).repeat(3, factor));
        x.close();
        return out;
    }

    @Override
    public NDList[] unbatchify(NDList inputs) {
        return Batchifier.STACK.unbatchify(inputs);
    }
}
