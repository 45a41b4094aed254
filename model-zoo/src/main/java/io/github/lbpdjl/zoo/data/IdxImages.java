package io.github.lbpdjl.zoo.data;

/** Images read from an IDX file: {@code count} images of {@code rows x cols} unsigned bytes. */
public final class IdxImages {

    private final int count;
    private final int rows;
    private final int cols;
    private final byte[] pixels;

    IdxImages(int count, int rows, int cols, byte[] pixels) {
        this.count = count;
        this.rows = rows;
        this.cols = cols;
        this.pixels = pixels;
    }

    /**
     * @return the number of images
     */
    public int getCount() {
        return count;
    }

    /**
     * @return the rows of each image
     */
    public int getRows() {
        return rows;
    }

    /**
     * @return the columns of each image
     */
    public int getCols() {
        return cols;
    }

    /**
     * The raw pixels, image after image, row-major; the array is shared, do not modify it.
     *
     * @return count*rows*cols bytes; read them as {@code b & 0xff}
     */
    public byte[] getPixels() {
        return pixels;
    }

    /**
     * One pixel as 0..255.
     *
     * @param image image index
     * @param row row
     * @param col column
     * @return the pixel value
     */
    public int getPixel(int image, int row, int col) {
        return pixels[(image * rows + row) * cols + col] & 0xff;
    }
}
