package io.github.lbpdjl.safetensors;

import java.util.Locale;

/** The safetensors element types, by their header names ("F32", "BF16", ...). */
public enum DType {
    /** 64-bit float. */
    F64(8, true),
    /** 32-bit float. */
    F32(4, true),
    /** IEEE half precision. */
    F16(2, true),
    /** bfloat16. */
    BF16(2, true),
    /** signed 64-bit integer. */
    I64(8, false),
    /** signed 32-bit integer. */
    I32(4, false),
    /** signed 16-bit integer. */
    I16(2, false),
    /** signed 8-bit integer. */
    I8(1, false),
    /** unsigned 8-bit integer. */
    U8(1, false),
    /** boolean, one byte. */
    BOOL(1, false);

    private final int byteSize;
    private final boolean floating;

    DType(int byteSize, boolean floating) {
        this.byteSize = byteSize;
        this.floating = floating;
    }

    /**
     * @return bytes per element
     */
    public int getByteSize() {
        return byteSize;
    }

    /**
     * @return whether this is a floating point type
     */
    public boolean isFloating() {
        return floating;
    }

    /**
     * Parses a header name.
     *
     * @param name e.g. "F16"
     * @return the type, or null if unknown
     */
    public static DType fromName(String name) {
        if (name == null) {
            return null;
        }
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
