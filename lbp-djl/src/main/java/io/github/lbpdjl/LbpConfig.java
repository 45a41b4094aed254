package io.github.lbpdjl;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import io.github.lbpdjl.internal.JsonInput;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.Padding;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.Objects;

/**
 * The configuration of LBP-WHT for a layer: patch size, selected bases, padding and (optionally)
 * the token layout. Immutable and thread-safe; built with {@link #builder()}, saved and read as
 * JSON with {@link #toJson()} and {@link #fromJson(String)}.
 */
public final class LbpConfig {

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private final int patchSize;
    private final BasisSelection selection;
    private final Padding padding;
    private final TokenLayout layout;

    private LbpConfig(Builder b) {
        this.patchSize = b.patchSize;
        this.selection = b.selection;
        this.padding = b.padding;
        this.layout = b.layout;
    }

    /**
     * Creates a builder with the defaults: patch size 8, LP_L1-6, zero padding, layout inferred.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * @return the patch side p
     */
    public int getPatchSize() {
        return patchSize;
    }

    /**
     * @return the selected bases
     */
    public BasisSelection getSelection() {
        return selection;
    }

    /**
     * @return the padding
     */
    public Padding getPadding() {
        return padding;
    }

    /**
     * @return the token layout, or null if it is inferred from the token count
     */
    public TokenLayout getLayout() {
        return layout;
    }

    /**
     * @return the number of selected bases k
     */
    public int getBasisCount() {
        return selection.count(patchSize);
    }

    /**
     * Returns a builder that starts from this configuration.
     *
     * @return a new builder
     */
    public Builder toBuilder() {
        return builder()
                .optPatchSize(patchSize)
                .optSelection(selection)
                .optPadding(padding)
                .optLayout(layout);
    }

    /**
     * Writes this configuration as JSON.
     *
     * @return the JSON text
     */
    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("patchSize", patchSize);
        JsonObject sel = new JsonObject();
        sel.addProperty("kind", selection.getKind().name());
        if (selection.getKind() == BasisSelection.Kind.EXPLICIT) {
            sel.add("bases", GSON.toJsonTree(selection.getExplicit()));
        } else if (selection.getKind() != BasisSelection.Kind.ALL) {
            sel.addProperty("order", selection.getOrder());
        }
        o.add("selection", sel);
        o.addProperty("padding", padding.name());
        if (layout != null) {
            JsonObject l = new JsonObject();
            l.addProperty("extraTokens", layout.getExtraTokens());
            l.addProperty("height", layout.getHeight());
            l.addProperty("width", layout.getWidth());
            o.add("layout", l);
        }
        return GSON.toJson(o);
    }

    /**
     * Reads a configuration written by {@link #toJson()}; missing fields take the defaults.
     *
     * @param json the JSON text
     * @return the configuration
     * @throws IllegalArgumentException if the text is not valid JSON or holds invalid values
     */
    public static LbpConfig fromJson(String json) {
        try {
            JsonElement root = JsonInput.parse(json);
            if (!root.isJsonObject()) {
                throw new IllegalArgumentException(
                        "LbpConfig JSON must be an object, got: " + JsonInput.describe(root));
            }
            JsonObject o = root.getAsJsonObject();
            Builder b = builder();
            if (o.has("patchSize")) {
                b.optPatchSize(o.get("patchSize").getAsInt());
            }
            if (o.has("selection")) {
                b.optSelection(readSelection(o.getAsJsonObject("selection")));
            }
            if (o.has("padding")) {
                b.optPadding(Padding.valueOf(o.get("padding").getAsString()));
            }
            if (o.has("layout") && !o.get("layout").isJsonNull()) {
                JsonObject l = o.getAsJsonObject("layout");
                b.optLayout(
                        TokenLayout.grid(
                                l.get("extraTokens").getAsInt(),
                                l.get("height").getAsInt(),
                                l.get("width").getAsInt()));
            }
            return b.build();
        } catch (JsonParseException
                | IllegalStateException
                | ClassCastException
                | NullPointerException
                | UnsupportedOperationException
                | NumberFormatException e) {
            throw new IllegalArgumentException("invalid LbpConfig JSON: " + e.getMessage(), e);
        }
    }

    private static BasisSelection readSelection(JsonObject sel) {
        BasisSelection.Kind kind = BasisSelection.Kind.valueOf(sel.get("kind").getAsString());
        switch (kind) {
            case LOW_PASS_L1:
                return BasisSelection.lowPassL1(sel.get("order").getAsInt());
            case LOW_PASS_LINF:
                return BasisSelection.lowPassLinf(sel.get("order").getAsInt());
            case ALL:
                return BasisSelection.all();
            default:
                JsonArray arr = sel.getAsJsonArray("bases");
                int[][] pairs = new int[arr.size()][];
                for (int i = 0; i < pairs.length; i++) {
                    JsonArray pair = arr.get(i).getAsJsonArray();
                    pairs[i] = new int[pair.size()];
                    for (int j = 0; j < pairs[i].length; j++) {
                        pairs[i][j] = pair.get(j).getAsInt();
                    }
                }
                return BasisSelection.of(pairs);
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LbpConfig)) {
            return false;
        }
        LbpConfig c = (LbpConfig) o;
        return patchSize == c.patchSize
                && selection.equals(c.selection)
                && padding == c.padding
                && Objects.equals(layout, c.layout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(patchSize, selection, padding, layout);
    }

    @Override
    public String toString() {
        return "LbpConfig{p="
                + patchSize
                + ", "
                + selection
                + " (k="
                + getBasisCount()
                + "), "
                + padding
                + ", layout="
                + (layout == null ? "inferred" : layout)
                + "}";
    }

    /** Builds an {@link LbpConfig}; {@link #build()} validates. */
    public static final class Builder {

        private int patchSize = 8;
        private BasisSelection selection = BasisSelection.lowPassL1(6);
        private Padding padding = Padding.ZERO;
        private TokenLayout layout;

        Builder() {}

        /**
         * Sets the patch side p (default 8).
         *
         * @param patchSize a power of two
         * @return this builder
         */
        public Builder optPatchSize(int patchSize) {
            this.patchSize = patchSize;
            return this;
        }

        /**
         * Sets the selected bases (default LP_L1-6).
         *
         * @param selection the selection
         * @return this builder
         */
        public Builder optSelection(BasisSelection selection) {
            this.selection = Objects.requireNonNull(selection, "selection");
            return this;
        }

        /**
         * Sets the padding of grids that are not multiples of p (default ZERO).
         *
         * @param padding the padding
         * @return this builder
         */
        public Builder optPadding(Padding padding) {
            this.padding = Objects.requireNonNull(padding, "padding");
            return this;
        }

        /**
         * Sets the token layout; null (the default) infers E extra tokens plus a square grid.
         *
         * @param layout the layout, or null
         * @return this builder
         */
        public Builder optLayout(TokenLayout layout) {
            this.layout = layout;
            return this;
        }

        /**
         * Validates and builds the configuration.
         *
         * @return the configuration
         * @throws IllegalArgumentException if the patch size is not a power of two or a basis lies
         *     outside the patch
         */
        public LbpConfig build() {
            selection.bases(patchSize); // validates p and explicit bases
            return new LbpConfig(this);
        }
    }
}
