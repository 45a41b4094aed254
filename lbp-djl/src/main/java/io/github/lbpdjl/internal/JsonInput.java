package io.github.lbpdjl.internal;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;

/**
 * Parses JSON that comes from outside (files, users) with a nesting limit. Gson parses any depth,
 * but printing, hashing or comparing a deeply nested element recurses and ends in a
 * StackOverflowError; such documents are refused before parsing.
 */
public final class JsonInput {

    /** The deepest nesting of arrays and objects accepted. */
    public static final int MAX_DEPTH = 64;

    private static final int DESCRIBE_CHARS = 120;

    private JsonInput() {}

    /**
     * Parses JSON text (Gson's lenient syntax, as {@link JsonParser#parseString}).
     *
     * @param json the text
     * @return the element
     * @throws JsonParseException if the text is not JSON or nests deeper than {@link #MAX_DEPTH}
     */
    public static JsonElement parse(String json) {
        checkDepth(json);
        return JsonParser.parseString(json);
    }

    /**
     * Describes an element for an error message: its JSON text, shortened.
     *
     * @param element the element (parsed by {@link #parse}), or null
     * @return at most about 120 characters
     */
    public static String describe(JsonElement element) {
        String s = String.valueOf(element);
        return s.length() <= DESCRIBE_CHARS ? s : s.substring(0, DESCRIBE_CHARS) + "...";
    }

    /**
     * Counts brackets outside strings (a bracket in a comment counts too: stricter, never laxer).
     */
    private static void checkDepth(String json) {
        int depth = 0;
        char quote = 0;
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '[' || c == '{') {
                if (++depth > MAX_DEPTH) {
                    throw new JsonSyntaxException(
                            "JSON nested deeper than " + MAX_DEPTH + " levels at character " + i);
                }
            } else if (c == ']' || c == '}') {
                depth--;
            }
        }
    }
}
