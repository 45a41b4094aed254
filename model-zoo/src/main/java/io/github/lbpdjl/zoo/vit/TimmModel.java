package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import java.util.Map;

/**
 * A whole timm model as a DJL block: its modules and parameters by their timm paths, and replacing
 * a module in place. The zoo's model families extend it.
 */
public abstract class TimmModel extends TimmBlock {

    /**
     * The shape of a batch of input images, (B, C, H, W).
     *
     * @param batchSize B
     * @return the shape
     */
    public abstract Shape getInputShape(long batchSize);

    /**
     * The number of classes of the head (0: features only).
     *
     * @return the number of classes
     */
    public abstract int getNumClasses();

    /**
     * The number of input channels, C of {@link #getInputShape}.
     *
     * @return the number of channels
     */
    public abstract int getInChannels();

    /**
     * Checks that an input is a batch of this model's images, (B, C, H, W), naming the model and
     * both shapes if not.
     *
     * @param s the input shape
     * @param height H
     * @param width W
     */
    protected void checkImageInput(Shape s, long height, long width) {
        if (s.dimension() != 4
                || s.get(1) != getInChannels()
                || s.get(2) != height
                || s.get(3) != width) {
            throw new IllegalArgumentException(
                    getClass().getSimpleName()
                            + " expects input (B, "
                            + getInChannels()
                            + ", "
                            + height
                            + ", "
                            + width
                            + "), got "
                            + s);
        }
    }

    /**
     * Every module by its timm path ({@code "blocks.0.attn.qkv"}), parents first.
     *
     * @return an unmodifiable ordered map
     * @see TimmModules#namedModules(Block)
     */
    public Map<String, Block> namedModules() {
        return TimmModules.namedModules(this);
    }

    /**
     * Every parameter by its timm name ({@code "blocks.0.attn.qkv.weight"}), in timm's {@code
     * state_dict} order.
     *
     * @return an unmodifiable ordered map
     * @see TimmModules#namedParameters(Block)
     */
    public Map<String, Parameter> timmParameters() {
        return TimmModules.namedParameters(this);
    }

    /**
     * The module at a timm path.
     *
     * @param path e.g. {@code "blocks.3.mlp.fc1"}
     * @return the module
     */
    public Block getModule(String path) {
        return TimmModules.getModule(this, path);
    }

    /**
     * Replaces the module at a timm path (e.g. {@code "blocks.3.attn.qkv"} or {@code "head"}); the
     * next forward uses the new block. Initialise the new block yourself if it is not.
     *
     * @param path the timm path
     * @param newBlock the new block
     * @return the replaced block
     */
    public Block replaceModule(String path, Block newBlock) {
        return TimmModules.replaceModule(this, path, newBlock);
    }
}
