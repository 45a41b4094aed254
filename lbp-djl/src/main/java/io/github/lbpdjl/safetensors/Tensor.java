package io.github.lbpdjl.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One safetensors tensor held in memory: element type, shape and little-endian bytes. Converts from
 * and to float arrays and DJL NDArrays (always FLOAT32 on the DJL side).
 */
public final class Tensor {

    private final DType dtype;
    private final long[] shape;
    private final byte[] data;

    /**
     * Creates a tensor; the byte length must equal the product of the shape times the element size.
     *
     * @param dtype element type
     * @param shape the shape (may be empty for a scalar)
     * @param data little-endian bytes (not copied)
     */
    public Tensor(DType dtype, long[] shape, byte[] data) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
        long expected = byteSize(dtype, this.shape);
        if (expected != data.length) {
            throw new IllegalArgumentException(
                    "tensor of "
                            + dtype
                            + Arrays.toString(shape)
                            + " needs "
                            + expected
                            + " bytes, got "
                            + data.length);
        }
    }

    /**
     * The byte size of a tensor, with overflow and negative dimensions rejected.
     *
     * @param dtype the element type
     * @param shape the shape
     * @return the byte size
     * @throws IllegalArgumentException if a dimension is negative or the size overflows
     */
    public static long byteSize(DType dtype, long[] shape) {
        long n = dtype.getByteSize();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(
                        "negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * Encodes floats as a tensor of a floating type (F16 and BF16 round to nearest even).
     *
     * @param values the values, row-major
     * @param shape the shape
     * @param dtype F32, F16, BF16 or F64
     * @return the tensor
     */
    public static Tensor fromFloats(float[] values, long[] shape, DType dtype) {
        if (!dtype.isFloating()) {
            throw new IllegalArgumentException("fromFloats needs a floating type, got " + dtype);
        }
        long numel = byteSize(DType.U8, shape);
        if (numel != values.length) {
            throw new IllegalArgumentException(
                    "shape "
                            + Arrays.toString(shape)
                            + " needs "
                            + numel
                            + " values, got "
                            + values.length);
        }
        ByteBuffer bb =
                ByteBuffer.allocate(Math.toIntExact(byteSize(dtype, shape)))
                        .order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case F64:
                    bb.putDouble(v);
                    break;
                case F32:
                    bb.putFloat(v);
                    break;
                case F16:
                    bb.putShort(HalfFloats.floatToHalf(v));
                    break;
                case BF16:
                    bb.putShort(HalfFloats.floatToBf16(v));
                    break;
                default:
                    throw new AssertionError(dtype);
            }
        }
        return new Tensor(dtype, shape, bb.array());
    }

    /**
     * Encodes an NDArray (converted to float32 first).
     *
     * @param array the array
     * @param dtype the element type to store
     * @return the tensor
     */
    public static Tensor fromNDArray(NDArray array, DType dtype) {
        float[] values =
                array.getDataType() == DataType.FLOAT32
                        ? array.toFloatArray()
                        : array.toType(DataType.FLOAT32, false).toFloatArray();
        return fromFloats(values, array.getShape().getShape(), dtype);
    }

    /**
     * @return the element type
     */
    public DType getDType() {
        return dtype;
    }

    /**
     * @return a copy of the shape
     */
    public long[] getShape() {
        return shape.clone();
    }

    /**
     * @return the shape as a DJL Shape
     */
    public Shape getDjlShape() {
        return new Shape(shape);
    }

    /**
     * @return the number of elements
     */
    public long numel() {
        return byteSize(DType.U8, shape);
    }

    /**
     * @return the raw little-endian bytes (shared, do not modify)
     */
    public byte[] getData() {
        return data;
    }

    /**
     * Decodes the values as floats (integer types are converted).
     *
     * @return the values, row-major
     */
    public float[] toFloatArray() {
        int n = Math.toIntExact(numel());
        float[] out = new float[n];
        ByteBuffer bb = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            switch (dtype) {
                case F64:
                    out[i] = (float) bb.getDouble();
                    break;
                case F32:
                    out[i] = bb.getFloat();
                    break;
                case F16:
                    out[i] = HalfFloats.halfToFloat(bb.getShort());
                    break;
                case BF16:
                    out[i] = HalfFloats.bf16ToFloat(bb.getShort());
                    break;
                case I64:
                    out[i] = bb.getLong();
                    break;
                case I32:
                    out[i] = bb.getInt();
                    break;
                case I16:
                    out[i] = bb.getShort();
                    break;
                case I8:
                case BOOL:
                    out[i] = bb.get();
                    break;
                case U8:
                    out[i] = bb.get() & 0xff;
                    break;
                default:
                    throw new AssertionError(dtype);
            }
        }
        return out;
    }

    /**
     * Creates a FLOAT32 NDArray with this tensor's values.
     *
     * @param manager the manager to own the array
     * @return the array
     */
    public NDArray toNDArray(NDManager manager) {
        return manager.create(toFloatArray(), getDjlShape());
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
