package io.github.lbpdjl.training;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import io.github.lbpdjl.internal.JsonInput;

/** Reading the JSON states of the listeners, with one clear error for a state that is not one. */
final class States {

    private States() {}

    static JsonObject parse(String json, String what) {
        try {
            return JsonInput.parse(json).getAsJsonObject();
        } catch (IllegalStateException | JsonParseException e) {
            throw new IllegalArgumentException(
                    "not an LBP-WHT " + what + " state: " + e.getMessage(), e);
        }
    }

    static JsonElement get(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            throw new IllegalArgumentException("not an LBP-WHT listener state: no '" + key + "'");
        }
        return e;
    }

    static int getInt(JsonObject o, String key) {
        try {
            return get(o, key).getAsInt();
        } catch (IllegalStateException | UnsupportedOperationException | NumberFormatException e) {
            throw new IllegalArgumentException(
                    "not an LBP-WHT listener state: '" + key + "' is not a number", e);
        }
    }

    static boolean getBoolean(JsonObject o, String key) {
        try {
            return get(o, key).getAsBoolean();
        } catch (IllegalStateException | UnsupportedOperationException e) {
            throw new IllegalArgumentException(
                    "not an LBP-WHT listener state: '" + key + "' is not a boolean", e);
        }
    }
}
