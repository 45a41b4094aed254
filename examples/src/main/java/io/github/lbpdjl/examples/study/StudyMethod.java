package io.github.lbpdjl.examples.study;

import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.BasisSelection;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A training method of the study: full backprop, LBP-WHT with a fixed low-pass order on every
 * token-wise Linear (optionally with the qkv layers left exact), or the energy-adaptive selection.
 * Spellings: {@code full}, {@code lp-l1-O}, {@code lp-l1-O-qkv-exact}, {@code energy-T-kK} (keep
 * fraction T of the gradient energy with at most K bases per layer), and {@code full-probe-l1-O}:
 * full backprop throughout (the listener's full-backprop schedule) on a model rewritten at LP_L1-O,
 * so that the energy the selection would keep is sampled on exact gradients.
 *
 * @param name the spelling
 * @param order the LP_L1 order, 0 for full backprop and energy-adaptive
 * @param qkvExact whether qkv layers keep exact gradients
 * @param energyTarget the energy fraction of the adaptive selection, 0 if fixed
 * @param kMax the most bases per layer of the adaptive selection
 * @param probeOnly full backprop, the LP_L1-O layers only measuring the energy they would keep
 */
public record StudyMethod(
        String name,
        int order,
        boolean qkvExact,
        double energyTarget,
        int kMax,
        boolean probeOnly) {

    private static final Pattern LP = Pattern.compile("(full-probe-)?lp-l1-(\\d+)(-qkv-exact)?");
    private static final Pattern ENERGY = Pattern.compile("energy-(0?\\.\\d+|1)-k(\\d+)");

    /**
     * Parses a spelling.
     *
     * @param spec e.g. {@code lp-l1-2-qkv-exact}
     * @return the method
     * @throws IllegalArgumentException for another spelling
     */
    public static StudyMethod parse(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("full")) {
            return new StudyMethod(s, 0, false, 0, 0, false);
        }
        Matcher m = LP.matcher(s.replace("full-probe-l1", "full-probe-lp-l1"));
        if (m.matches() && Integer.parseInt(m.group(2)) >= 1) {
            return new StudyMethod(
                    s, Integer.parseInt(m.group(2)), m.group(3) != null, 0, 0, m.group(1) != null);
        }
        m = ENERGY.matcher(s);
        if (m.matches() && Integer.parseInt(m.group(2)) >= 1) {
            return new StudyMethod(
                    s,
                    0,
                    false,
                    Double.parseDouble(m.group(1)),
                    Integer.parseInt(m.group(2)),
                    false);
        }
        throw new IllegalArgumentException(
                "method '"
                        + spec
                        + "': use full, lp-l1-O, lp-l1-O-qkv-exact, energy-T-kK or"
                        + " full-probe-l1-O");
    }

    /**
     * @return whether the method trains with LBP-WHT
     */
    public boolean isLbp() {
        return !probeOnly && (order > 0 || energyTarget > 0);
    }

    /**
     * The method's listener: freezing, rewriting every token-wise Linear (all-linear: every Linear
     * but the head, the last one) and sampling the gradient energy.
     *
     * @param frozen parameters to freeze, or null
     * @param energyEvery sample the energy kept every N batches
     * @param calibration calibration batches of the energy-adaptive selection
     * @return the listener
     */
    public LbpTrainingListener listener(TargetModules frozen, int energyEvery, int calibration) {
        LbpTrainingListener.Builder b = LbpTrainingListener.builder().optFrozen(frozen);
        if (!isLbp() && !probeOnly) {
            return b.build();
        }
        // energy-adaptive: the starting selection is replaced after calibration
        int o = order > 0 ? order : 2;
        LbpRewriter.Builder rb =
                LbpRewriter.builder()
                        .optTargets(TargetModules.allLinear())
                        .optConfig(
                                LbpConfig.builder()
                                        .optSelection(BasisSelection.lowPassL1(o))
                                        .build());
        if (qkvExact) {
            rb.optExclude(TargetModules.names("qkv"));
        }
        b.optRewriter(rb.build()).optEnergySampling(energyEvery);
        if (energyTarget > 0) {
            b.optEnergyAdaptive(energyTarget, kMax, calibration);
        }
        if (probeOnly) {
            b.optFullBackpropSteps(Integer.MAX_VALUE).optLowEnergyWarning(0);
        }
        return b.build();
    }

    /**
     * @return a label for tables, without commas, e.g. {@code LP_L1-2 (qkv exact)}
     */
    public String label() {
        if (probeOnly) {
            return "full backprop (energy at LP_L1-" + order + ")";
        }
        if (!isLbp()) {
            return "full backprop";
        }
        if (energyTarget > 0) {
            return String.format(Locale.ROOT, "energy-adaptive %.2f (k <= %d)", energyTarget, kMax);
        }
        return "LP_L1-" + order + (qkvExact ? " (qkv exact)" : "");
    }
}
