package io.github.lbpdjl.examples.adapt;

import io.github.lbpdjl.zoo.data.IdxImages;
import io.github.lbpdjl.zoo.data.IdxReader;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Writes Fashion-MNIST images as image files in one folder per class: grey PNGs, or colour PNGs and
 * JPEGs.
 */
final class PngFolders {

    /** Debian's dataset-fashion-mnist, installed by .ci/setup. */
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    /** Three classes that a small model tells apart quickly: label to folder name. */
    static final Map<Integer, String> CLASSES = Map.of(0, "t-shirt", 1, "trouser", 7, "sneaker");

    private PngFolders() {}

    /**
     * Writes the first images of the chosen classes.
     *
     * @param dir the folder that receives one sub-folder per class
     * @param split "train" or "t10k"
     * @param skip images of the chosen classes to pass over first
     * @param n images to write
     * @param rgb colour PNGs (tinted, the tint the same for every class), else grey
     * @throws IOException if the data cannot be read or the files written
     */
    static void write(Path dir, String split, int skip, int n, boolean rgb) throws IOException {
        IdxImages images = IdxReader.readImages(FASHION.resolve(split + "-images-idx3-ubyte.gz"));
        int[] labels = IdxReader.readLabels(FASHION.resolve(split + "-labels-idx1-ubyte.gz"));
        int seen = 0;
        int written = 0;
        for (int i = 0; i < labels.length && written < n; i++) {
            String name = CLASSES.get(labels[i]);
            if (name == null || seen++ < skip) {
                continue;
            }
            int rows = images.getRows();
            int cols = images.getCols();
            BufferedImage img =
                    new BufferedImage(
                            cols,
                            rows,
                            rgb ? BufferedImage.TYPE_INT_RGB : BufferedImage.TYPE_BYTE_GRAY);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int v = images.getPixel(i, r, c);
                    int rgbValue = rgb ? (v << 16) | ((v * 3 / 4) << 8) | (v / 2) : v * 0x010101;
                    img.setRGB(c, r, rgbValue);
                }
            }
            Path folder = Files.createDirectories(dir.resolve(name));
            // colour: every other image a JPEG, as photos come
            String type = rgb && written % 2 == 1 ? "jpg" : "png";
            ImageIO.write(img, type, folder.resolve(String.format("%05d.%s", i, type)).toFile());
            written++;
        }
    }
}
