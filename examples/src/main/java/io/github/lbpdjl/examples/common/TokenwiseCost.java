package io.github.lbpdjl.examples.common;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.LayerGrids;
import io.github.lbpdjl.modules.TokenGrid;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.nn.LbpLayer;
import io.github.lbpdjl.peft.LoraLinear;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.vit.TimmModel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The backward cost of a model's token-wise layers per image, as the paper counts it: each layer's
 * input and weight gradients ({@link BackwardFlops}; a multiply-add is 2 FLOPs), nothing else (no
 * attention products, norms, head). Taken from the layers' input shapes once the model is
 * initialised and before it is adapted, so that it also serves a model that never trains ({@code
 * --flops}). A Linear's tokens are its input's second axis, laid out as the grid the model states
 * for it ({@link LayerGrids}) or as the model's token grid when the counts agree; a 1x1
 * convolution's are its H x W positions.
 */
public final class TokenwiseCost {

    /** One layer: its path, token layout and features. */
    private record Layer(String path, TokenLayout layout, long in, long out) {}

    private final List<Layer> layers;

    private TokenwiseCost(List<Layer> layers) {
        this.layers = layers;
    }

    /**
     * Reads the token-wise layers of a model.
     *
     * @param model the model, initialised (its layers' input shapes known) and not yet adapted
     * @param targets which layers: Linears and 1x1 convolutions among the matching paths
     * @param grid the model's token layout, for Linears whose token count is its own; null for a
     *     model that states each layer's grid ({@link LayerGrids})
     * @return the layers' cost
     * @throws IllegalStateException if a layer's input shape is not known
     */
    public static TokenwiseCost of(TimmModel model, TargetModules targets, TokenLayout grid) {
        List<Layer> out = new ArrayList<>();
        Map<String, int[]> grids =
                model instanceof LayerGrids ? ((LayerGrids) model).getLayerGrids() : Map.of();
        for (Map.Entry<String, Block> e : model.namedModules().entrySet()) {
            Block b = e.getValue();
            boolean conv = b instanceof Conv2d;
            if (!(b instanceof Linear || conv) || !targets.matches(e.getKey())) {
                continue;
            }
            Shape in = b.getInputShapes()[0];
            if (in.dimension() < (conv ? 4 : 3)) {
                throw new IllegalStateException(
                        e.getKey() + ": input shape " + in + " has no token axis");
            }
            Shape w = weight(b).getShape();
            TokenLayout layout;
            if (conv) {
                layout = TokenLayout.grid((int) in.get(2), (int) in.get(3));
            } else {
                long n = in.get(in.dimension() - 2);
                int[] own = grids.get(e.getKey());
                if (own != null) {
                    layout = TokenLayout.grid(own[0], own[1]);
                } else {
                    layout =
                            grid != null && n == grid.getTokenCount()
                                    ? grid
                                    : TokenLayout.inferSquare(n);
                }
            }
            out.add(new Layer(e.getKey(), layout, w.get(1), w.get(0)));
        }
        return new TokenwiseCost(Collections.unmodifiableList(out));
    }

    /**
     * Reads the token-wise layers of a zoo model built afresh at its own input size: the shapes a
     * loaded model records can be those of its weights file, not of this input.
     *
     * @param model the zoo name
     * @param part the trained part, whose token-wise layers are counted
     * @param engine the engine that initialises the shapes
     * @return the layers' cost
     */
    public static TokenwiseCost of(String model, TrainedPart part, String engine) {
        TimmModel net = TrainedPart.build(model);
        try (NDManager m = NDManager.newBaseManager(engine)) {
            net.initialize(m, DataType.FLOAT32, net.getInputShape(1));
            TokenLayout grid = net instanceof TokenGrid ? TokenLayout.of((TokenGrid) net) : null;
            TokenwiseCost cost = of(net, part.tokenwiseLayers(), grid);
            net.getParameters().values().forEach(Parameter::close);
            return cost;
        }
    }

    private static Parameter weight(Block b) {
        return b.getParameters().get("weight");
    }

    /**
     * Returns the number of layers counted.
     *
     * @return the count
     */
    public int size() {
        return layers.size();
    }

    /**
     * Full backprop's MFLOPs per image: {@code 4 N C_in C_out} summed.
     *
     * @return MFLOPs
     */
    public double fullMflops() {
        double total = 0;
        for (Layer l : layers) {
            total += BackwardFlops.of(l.layout, LbpConfig.builder().build(), l.in, l.out).getFull();
        }
        return total / 1e6;
    }

    /**
     * A method's MFLOPs per image, each layer with the method's selection.
     *
     * @param method the method; an energy method has no fixed cost: use {@link #mflops(Method,
     *     Map)}
     * @return MFLOPs
     */
    public double mflops(Method method) {
        return mflops(method, Map.of());
    }

    /**
     * A method's MFLOPs per image after training: a layer of {@code trained} (path to the adapted
     * module) costs what its own configuration says, which energy-adaptive selection chose.
     *
     * @param method the method
     * @param trained the model's modules after training, by path; may be empty
     * @return MFLOPs
     */
    public double mflops(Method method, Map<String, Block> trained) {
        switch (method.getKind()) {
            case HEAD:
                return 0;
            case FULL:
                return fullMflops();
            default:
                break;
        }
        double total = 0;
        for (Layer l : layers) {
            Block now = trained.get(l.path);
            LbpConfig c =
                    now instanceof LbpLayer ? ((LbpLayer) now).getConfig() : method.lbpConfig();
            if (method.usesLora()) {
                int rank =
                        now instanceof LoraLinear ? ((LoraLinear) now).getRank() : method.getRank();
                LbpConfig lbp =
                        method.getKind() == Method.Kind.LORA_LBP ? method.lbpConfig() : null;
                total += BackwardFlops.lora(l.layout, lbp, l.in, l.out, rank);
            } else if (c == null) {
                throw new IllegalArgumentException(
                        method + " chooses its bases in training: give the trained layers");
            } else {
                total += BackwardFlops.of(l.layout, c, l.in, l.out).getLbp();
            }
        }
        return total / 1e6;
    }
}
