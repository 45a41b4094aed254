package io.github.lbpdjl.zoo;

import ai.djl.modality.cv.Image;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.Transform;
import java.nio.ByteBuffer;

/**
 * The geometry of timm's evaluation transform on an {@code (H, W, C)} 8-bit image, on the host and
 * so the same on every engine: torchvision's {@code Resize(resizeSize)} (the shorter side to {@code
 * resizeSize}, the longer one {@code floor(resizeSize * long / short)}, nothing done when the size
 * is already that) with Pillow's resampling ({@link Resampling}), then torchvision's {@code
 * CenterCrop(size)}: where the image is smaller it is padded with zeros, {@code (size - n) / 2}
 * before and the rest after; where larger, the crop starts at {@code (n - size) / 2} rounded half
 * to even, as Python's {@code round}.
 */
final class ResizeCrop implements Transform {

    private final int resizeSize;
    private final int size;
    private final Image.Interpolation interpolation;

    ResizeCrop(Preprocessing p) {
        resizeSize = p.getResizeSize();
        size = p.getImageSize();
        interpolation = p.getInterpolation();
    }

    /** {@inheritDoc} */
    @Override
    public NDArray transform(NDArray array) {
        Shape shape = array.getShape();
        if (shape.dimension() != 3 || array.getDataType() != DataType.UINT8) {
            throw new IllegalArgumentException(
                    "expected an (H, W, C) uint8 image, got " + shape + " " + array.getDataType());
        }
        int height = (int) shape.get(0);
        int width = (int) shape.get(1);
        int channels = (int) shape.get(2);
        ByteBuffer data = array.toByteBuffer();
        byte[] pixels = new byte[data.remaining()];
        data.get(pixels);

        int newWidth;
        int newHeight;
        if (width <= height) {
            newWidth = resizeSize;
            newHeight = (int) ((long) resizeSize * height / width);
        } else {
            newHeight = resizeSize;
            newWidth = (int) ((long) resizeSize * width / height);
        }
        pixels =
                Resampling.resize(
                        pixels, width, height, channels, newWidth, newHeight, interpolation);
        byte[] out = new byte[size * size * channels];
        int[] rows = placement(newHeight, size);
        int[] cols = placement(newWidth, size);
        int rowBytes = cols[2] * channels;
        for (int r = 0; r < rows[2]; r++) {
            System.arraycopy(
                    pixels,
                    ((rows[0] + r) * newWidth + cols[0]) * channels,
                    out,
                    ((rows[1] + r) * size + cols[1]) * channels,
                    rowBytes);
        }
        ByteBuffer bb = array.getManager().allocateDirect(out.length);
        bb.put(out);
        bb.rewind();
        return array.getManager().create(bb, new Shape(size, size, channels), DataType.UINT8);
    }

    /**
     * Where a centre crop of {@code crop} pixels of a side of {@code n} takes its pixels.
     *
     * @return the first source pixel, the first target pixel and how many
     */
    static int[] placement(int n, int crop) {
        if (n < crop) {
            return new int[] {0, (crop - n) / 2, n};
        }
        return new int[] {(int) Math.rint((n - crop) / 2.0), 0, crop};
    }
}
