package io.github.lbpdjl.examples.study;

import java.util.Map;

/**
 * One training run of the study.
 *
 * @param experiment scratch or finetune
 * @param method the method
 * @param seed the seed of initialisation and data order
 * @param trainLoss the mean training loss of the last epoch
 * @param testAccuracy the test accuracy, in [0, 1]
 * @param backwardMflops backward MFLOPs per image of the blocks' 16 token-wise Linear layers as
 *     trained (at the end: the energy-adaptive selection as chosen)
 * @param fullBackwardMflops the same layers with full backprop
 * @param meanBases the mean number of bases per LBP-WHT layer, 0 without
 * @param msPerStep the median training step (forward, backward, update), milliseconds
 * @param energy per layer path, the gradient energy kept, mean over the last epoch's samples
 */
public record StudyRow(
        String experiment,
        StudyMethod method,
        int seed,
        double trainLoss,
        double testAccuracy,
        double backwardMflops,
        double fullBackwardMflops,
        double meanBases,
        double msPerStep,
        Map<String, Double> energy) {}
