package io.github.lbpdjl.examples.adapt;

import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.wht.BasisSelection;
import java.util.Locale;

/**
 * One adaptation method, parsed from its command-line name: {@code head}, {@code full}, {@code
 * filter} (LBP with basis (0,0) only: gradient filtering), {@code lbp-l1-O}, {@code lbp-linf-O}
 * (LBP-WHT low-pass orders), {@code energy-T} (energy-adaptive LBP-WHT keeping fraction T, at most
 * 21 bases), {@code lora-R} (LoRA of rank R on the blocks' linear layers, head trained) and {@code
 * lora-R+X} with X one of the LBP methods (LoRA whose backward is LBP-WHT).
 */
final class Method {

    enum Kind {
        HEAD,
        FULL,
        LBP,
        ENERGY,
        LORA,
        LORA_LBP
    }

    final String name;
    final Kind kind;
    final BasisSelection selection;
    final double energyTarget;
    final int rank;

    private Method(String name, Kind kind, BasisSelection selection, double energyTarget) {
        this(name, kind, selection, energyTarget, 0);
    }

    private Method(
            String name, Kind kind, BasisSelection selection, double energyTarget, int rank) {
        this.name = name;
        this.kind = kind;
        this.selection = selection;
        this.energyTarget = energyTarget;
        this.rank = rank;
    }

    static Method parse(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        try {
            if (s.equals("head")) {
                return new Method(s, Kind.HEAD, null, 0);
            }
            if (s.equals("full")) {
                return new Method(s, Kind.FULL, null, 0);
            }
            if (s.equals("filter")) {
                return new Method(s, Kind.LBP, BasisSelection.of(new int[] {0, 0}), 0);
            }
            if (s.startsWith("lbp-l1-")) {
                return new Method(
                        s, Kind.LBP, BasisSelection.lowPassL1(Integer.parseInt(s.substring(7))), 0);
            }
            if (s.startsWith("lbp-linf-")) {
                return new Method(
                        s,
                        Kind.LBP,
                        BasisSelection.lowPassLinf(Integer.parseInt(s.substring(9))),
                        0);
            }
            if (s.startsWith("lora-")) {
                int plus = s.indexOf('+');
                int rank = Integer.parseInt(plus < 0 ? s.substring(5) : s.substring(5, plus));
                if (rank <= 0) {
                    throw new IllegalArgumentException(
                            "LoRA rank must be > 0 in method '" + spec + "'");
                }
                if (plus < 0) {
                    return new Method(s, Kind.LORA, null, 0, rank);
                }
                Method lbp = parse(s.substring(plus + 1));
                if (lbp.kind != Kind.LBP) {
                    throw new IllegalArgumentException(
                            "method '" + spec + "': after '+' use filter, lbp-l1-O or lbp-linf-O");
                }
                return new Method(s, Kind.LORA_LBP, lbp.selection, 0, rank);
            }
            if (s.startsWith("energy-")) {
                double t = Double.parseDouble(s.substring(7));
                if (!(t > 0 && t <= 1)) {
                    throw new IllegalArgumentException("energy target must be in (0, 1], got " + t);
                }
                return new Method(s, Kind.ENERGY, BasisSelection.lowPassL1(6), t);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad number in method '" + spec + "'", e);
        }
        throw new IllegalArgumentException(
                "unknown method '"
                        + spec
                        + "'; use head, full, filter, lbp-l1-O, lbp-linf-O, energy-T, lora-R or"
                        + " lora-R+lbp-l1-O");
    }

    boolean usesLbp() {
        return kind == Kind.LBP || kind == Kind.ENERGY;
    }

    boolean usesLora() {
        return kind == Kind.LORA || kind == Kind.LORA_LBP;
    }

    LbpConfig lbpConfig() {
        return LbpConfig.builder().optSelection(selection).build();
    }

    @Override
    public String toString() {
        return name;
    }
}
