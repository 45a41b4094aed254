package io.github.lbpdjl.examples.adapt;

import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.TokenwiseCost;
import io.github.lbpdjl.examples.common.TrainedPart;
import java.util.List;
import java.util.Locale;

/**
 * The program's {@code --flops} table: each method's backward MFLOPs per image on the token-wise
 * layers of the trained part, at the model's own input size, counted from its shapes without
 * training (the paper's FLOP table, e.g. 1483.6 MFLOPs for full backprop of EfficientFormer-L1's
 * last stage).
 */
final class FlopTable {

    private FlopTable() {}

    /**
     * Makes the table.
     *
     * @param model the zoo name
     * @param part the trained part
     * @param engine the engine that initialises the model's shapes
     * @param methods the methods, one row each
     * @return the table, in Markdown
     */
    static String of(String model, TrainedPart part, String engine, List<Method> methods) {
        TokenwiseCost cost = TokenwiseCost.of(model, part, engine);
        long side = TrainedPart.preprocessing(model).getImageSize();
        StringBuilder sb = new StringBuilder();
        sb.append(
                String.format(
                        Locale.ROOT,
                        "Backward MFLOPs per %dx%d image of %s, %s (%d token-wise layers; a"
                                + " multiply-add is 2 FLOPs)%n%n",
                        side,
                        side,
                        model,
                        part.describe(),
                        cost.size()));
        sb.append("| method | k | backward MFLOPs | of full backprop |\n");
        sb.append("|---|---:|---:|---:|\n");
        double full = cost.fullMflops();
        for (Method method : methods) {
            if (method.getKind() == Method.Kind.ENERGY) {
                sb.append(
                        String.format(
                                Locale.ROOT,
                                "| %s | chosen in training | | |%n",
                                method.getName()));
                continue;
            }
            double f = cost.mflops(method);
            String k =
                    method.getKind() == Method.Kind.HEAD
                            ? ""
                            : String.valueOf(
                                    method.getBasisCount() > 0 ? method.getBasisCount() : 64);
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %s | %.1f | %.1f%% |%n",
                            method.getName(),
                            k,
                            f,
                            100 * f / full));
        }
        return sb.toString();
    }
}
