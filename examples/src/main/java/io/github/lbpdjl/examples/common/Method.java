package io.github.lbpdjl.examples.common;

import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.Locale;

/**
 * One training method, parsed from its command-line name; the one parser of the adaptation program
 * and the benchmarks. Names (case does not matter): {@code head}, {@code full}, {@code filter} (LBP
 * with basis (0,0) only: gradient filtering), {@code lbp-l1-O}, {@code lbp-linf-O} (LBP-WHT
 * low-pass orders; {@code LP_L1-O}, the benchmarks' spelling, is {@code lbp-l1-O} and keeps that
 * spelling in its name), {@code energy-T} (energy-adaptive LBP-WHT keeping fraction T, at most 21
 * bases), {@code lora-R} (LoRA of rank R on the blocks' linear layers, head trained) and {@code
 * lora-R+X} with X one of the LBP methods (LoRA whose backward is LBP-WHT).
 */
public final class Method {

    /** What a method trains, and how. */
    public enum Kind {
        /** The head alone. */
        HEAD,
        /** Every trained parameter, full backprop. */
        FULL,
        /** Every trained parameter, LBP-WHT in the trained blocks' linear layers. */
        LBP,
        /** As {@link #LBP}, the bases chosen by the gradient energy they keep. */
        ENERGY,
        /** LoRA adapters on the trained blocks' linear layers, base frozen, head trained. */
        LORA,
        /** LoRA with LBP-WHT in the adapted layers' backward. */
        LORA_LBP
    }

    private static final String NAMES =
            "head, full, filter, lbp-l1-O (LP_L1-O), lbp-linf-O, energy-T, lora-R or"
                    + " lora-R+lbp-l1-O";

    private final String name;
    private final Kind kind;
    private final BasisSelection selection;
    private final double energyTarget;
    private final int rank;

    private Method(
            String name, Kind kind, BasisSelection selection, double energyTarget, int rank) {
        this.name = name;
        this.kind = kind;
        this.selection = selection;
        this.energyTarget = energyTarget;
        this.rank = rank;
    }

    /**
     * Parses a method name.
     *
     * @param spec the name, e.g. {@code lbp-l1-2}, {@code LP_L1-2} or {@code lora-8+lbp-l1-2}
     * @return the method
     * @throws IllegalArgumentException if the name is not a method's
     */
    public static Method parse(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        try {
            if (s.equals("head")) {
                return new Method(s, Kind.HEAD, null, 0, 0);
            }
            if (s.equals("full")) {
                return new Method(s, Kind.FULL, null, 0, 0);
            }
            if (s.equals("filter")) {
                return new Method(s, Kind.LBP, BasisSelection.of(new int[] {0, 0}), 0, 0);
            }
            if (s.startsWith("lbp-l1-")) {
                return lowPassL1(s, s.substring(7));
            }
            if (s.startsWith("lp_l1-")) {
                return lowPassL1("LP_L1-" + s.substring(6), s.substring(6));
            }
            if (s.startsWith("lbp-linf-")) {
                int order = Integer.parseInt(s.substring(9));
                return new Method(s, Kind.LBP, BasisSelection.lowPassLinf(order), 0, 0);
            }
            if (s.startsWith("lora-")) {
                return lora(spec, s);
            }
            if (s.startsWith("energy-")) {
                double t = Double.parseDouble(s.substring(7));
                if (!(t > 0 && t <= 1)) {
                    throw new IllegalArgumentException("energy target must be in (0, 1], got " + t);
                }
                return new Method(s, Kind.ENERGY, BasisSelection.lowPassL1(6), t, 0);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad number in method '" + spec + "'", e);
        }
        throw new IllegalArgumentException("unknown method '" + spec + "'; use " + NAMES);
    }

    private static Method lowPassL1(String name, String order) {
        return new Method(name, Kind.LBP, BasisSelection.lowPassL1(Integer.parseInt(order)), 0, 0);
    }

    private static Method lora(String spec, String s) {
        int plus = s.indexOf('+');
        int rank = Integer.parseInt(plus < 0 ? s.substring(5) : s.substring(5, plus));
        if (rank <= 0) {
            throw new IllegalArgumentException("LoRA rank must be > 0 in method '" + spec + "'");
        }
        if (plus < 0) {
            return new Method(s, Kind.LORA, null, 0, rank);
        }
        Method lbp = parse(s.substring(plus + 1));
        if (lbp.kind != Kind.LBP) {
            throw new IllegalArgumentException(
                    "method '" + spec + "': after '+' use filter, lbp-l1-O or lbp-linf-O");
        }
        return new Method(
                s.substring(0, plus + 1) + lbp.name, Kind.LORA_LBP, lbp.selection, 0, rank);
    }

    /**
     * Returns the name, as given (lower case, but for {@code LP_L1}).
     *
     * @return the name
     */
    public String getName() {
        return name;
    }

    /**
     * Returns what the method trains, and how.
     *
     * @return the kind
     */
    public Kind getKind() {
        return kind;
    }

    /**
     * Returns the LBP-WHT bases: of {@link Kind#LBP}, {@link Kind#LORA_LBP}, and the most {@link
     * Kind#ENERGY} may keep.
     *
     * @return the selection, or null without LBP-WHT
     */
    public BasisSelection getSelection() {
        return selection;
    }

    /**
     * Returns the fraction of gradient energy an {@link Kind#ENERGY} method keeps.
     *
     * @return the target, 0 for other methods
     */
    public double getEnergyTarget() {
        return energyTarget;
    }

    /**
     * Returns the LoRA rank.
     *
     * @return the rank, 0 without LoRA
     */
    public int getRank() {
        return rank;
    }

    /**
     * Returns whether the base model's linear layers become LbpLinear ({@link Kind#LBP}, {@link
     * Kind#ENERGY}).
     *
     * @return whether it rewrites with LBP-WHT
     */
    public boolean usesLbp() {
        return kind == Kind.LBP || kind == Kind.ENERGY;
    }

    /**
     * Returns whether the method trains LoRA adapters ({@link Kind#LORA}, {@link Kind#LORA_LBP}).
     *
     * @return whether it uses LoRA
     */
    public boolean usesLora() {
        return kind == Kind.LORA || kind == Kind.LORA_LBP;
    }

    /**
     * Returns the LBP-WHT configuration of the selection, without a token layout.
     *
     * @return the configuration, or null without LBP-WHT
     */
    public LbpConfig lbpConfig() {
        return selection == null ? null : LbpConfig.builder().optSelection(selection).build();
    }

    /**
     * Returns the LBP-WHT configuration of the selection for a token layout.
     *
     * @param layout the model's token layout
     * @return the configuration, or null without LBP-WHT
     */
    public LbpConfig lbpConfig(TokenLayout layout) {
        return selection == null
                ? null
                : LbpConfig.builder().optSelection(selection).optLayout(layout).build();
    }

    /**
     * Returns the number of bases k per 8x8 patch.
     *
     * @return k, or 0 without LBP-WHT
     */
    public int getBasisCount() {
        return selection == null ? 0 : lbpConfig().getBasisCount();
    }

    @Override
    public String toString() {
        return name;
    }
}
