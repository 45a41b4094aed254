package io.github.lbpdjl.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.initializer.Initializer;

/**
 * PEFT's default A initialiser: kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)), fan_in the product of every axis but the first (in, or in x kh x kw).
 */
final class KaimingUniformSqrt5 implements Initializer {
    @Override
    public NDArray initialize(NDManager manager, Shape shape, DataType dataType) {
        float bound = (float) (1 / Math.sqrt(shape.size() / shape.get(0)));
        return manager.randomUniform(-bound, bound, shape, dataType);
    }
}
