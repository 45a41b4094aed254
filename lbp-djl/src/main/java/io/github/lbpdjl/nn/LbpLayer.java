package io.github.lbpdjl.nn;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.github.lbpdjl.LbpConfig;
import java.util.List;

/**
 * A layer trained with LBP-WHT, as the training listeners see it: its configuration and switch, its
 * gradient probes and its backward cost. {@link LbpLinear} is one.
 */
public interface LbpLayer extends Block {

    /**
     * Returns the LBP-WHT configuration.
     *
     * @return the configuration
     */
    LbpConfig getConfig();

    /**
     * Replaces the LBP-WHT configuration, e.g. to change the selection during training.
     *
     * @param config the new configuration
     */
    void setConfig(LbpConfig config);

    /**
     * Returns whether training uses LBP-WHT (true) or exact backprop (false).
     *
     * @return the switch
     */
    boolean isLbpEnabled();

    /**
     * Switches LBP-WHT on or off for this layer.
     *
     * @param enabled whether to use LBP-WHT in training
     */
    void setLbpEnabled(boolean enabled);

    /**
     * Arms the gradient probe: the following training passes record the layer's output gradient.
     */
    void armProbe();

    /**
     * Disarms the probe and returns what it recorded, one probe per training pass.
     *
     * @return the probes, possibly none
     */
    List<GradientProbe> takeGradientProbes();

    /**
     * Returns the shape of the last input seen in training with LBP-WHT on.
     *
     * @return the shape, or null if none yet
     */
    Shape getLastTrainingShape();

    /**
     * Returns the backward FLOPs per sample of the last training input, with LBP-WHT as configured
     * now (whether or not it is switched on) and with full backprop.
     *
     * @return the counts, or null if no training input was seen yet
     */
    BackwardFlops backwardFlops();
}
