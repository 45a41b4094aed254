package io.github.lbpdjl.rewrite;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import io.github.lbpdjl.nn.AdaptedBlock;
import io.github.lbpdjl.nn.LbpConv2d;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** What LBP-WHT adapts: Linear layers and, when the targets name them, 1x1 Conv2d layers. */
final class LbpLayerFactory implements AdapterInjector.LayerFactory {

    private final LbpRewriter rewriter;
    private final Function<String, TokenLayout> fromModel;
    private final Map<String, TokenLayout> layouts;
    private final Set<String> gridLayers;

    /**
     * @param rewriter the rewriter whose configurations the layers get
     * @param fromModel the layout the model states for a layer path, or null
     * @param layouts receives each adapted layer's layout
     * @param gridLayers the layers a model with several grids states one for ({@link
     *     io.github.lbpdjl.modules.LayerGrids}), or null for any other model
     */
    LbpLayerFactory(
            LbpRewriter rewriter,
            Function<String, TokenLayout> fromModel,
            Map<String, TokenLayout> layouts,
            Set<String> gridLayers) {
        this.rewriter = rewriter;
        this.fromModel = fromModel;
        this.layouts = layouts;
        this.gridLayers = gridLayers;
    }

    @Override
    public String leftOutOfAllLinear(String path) {
        return gridLayers == null || gridLayers.contains(path)
                ? null
                : "not token-wise: the model states no token grid for it";
    }

    @Override
    public AdaptedBlock adapt(Block layer, String path) {
        if (layer instanceof Linear) {
            // checked against its layout now when its input shape is known
            Linear linear = (Linear) layer;
            LbpLinear lbp =
                    LbpLinear.from(linear, rewriter.configFor(path, fromModel.apply(path)), path);
            Shape in = knownInputShape(linear);
            layouts.put(path, in == null ? lbp.getConfig().getLayout() : lbp.checkInput(in));
            return lbp;
        }
        LbpConv2d conv = LbpConv2d.from((Conv2d) layer, rewriter.convConfigFor(path), path);
        layouts.put(path, conv.getConfig().getLayout());
        return conv;
    }

    @Override
    public boolean accepts(Block layer) {
        return layer instanceof Linear
                || (!rewriter.getTargets().isAllLinear() && LbpConv2d.canTakeOver(layer));
    }

    @Override
    public String kinds() {
        return rewriter.getTargets().isAllLinear() ? "Linear layer" : "Linear layer or 1x1 Conv2d";
    }

    @Override
    public String refusal(Block layer) {
        if (layer instanceof Conv2d) {
            return "a Conv2d with "
                    + LbpConv2d.whyNot((Conv2d) layer)
                    + ", which LBP-WHT does not adapt (1x1 only)";
        }
        return null;
    }

    /**
     * The input shape a Linear was initialised with, or null if it is not initialised or the shape
     * is not fully known (DJL's attention block initialises its projections with (-1, C), then
     * feeds them (B, N, C)).
     */
    private static Shape knownInputShape(Linear linear) {
        Parameter weight = linear.getParameters().get("weight");
        if (!weight.isInitialized()) {
            return null;
        }
        // .params metadata of a loaded Linear holds the input shape without its last axis
        Shape in = linear.getInputShapes()[0];
        long features = weight.getArray().getShape().get(1);
        Shape full =
                in.dimension() > 0 && in.get(in.dimension() - 1) == features
                        ? in
                        : in.add(features);
        for (long d : full.getShape()) {
            if (d <= 0) {
                return null;
            }
        }
        return full;
    }
}
