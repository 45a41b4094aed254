package io.github.lbpdjl.examples.plot;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChartTest {

    @Test
    void labelsOfNearbyPointsDoNotOverlap() {
        Graphics2D g = new BufferedImage(400, 300, BufferedImage.TYPE_INT_RGB).createGraphics();
        Rectangle plot = new Rectangle(0, 0, 400, 300);
        List<Rectangle> taken = new ArrayList<>();
        // markers 6 px apart, as lbp-l1-2 and lbp-linf-2 were
        int[][] points = {{200, 150}, {206, 151}, {212, 149}};
        for (int[] p : points) {
            taken.add(new Rectangle(p[0] - 6, p[1] - 6, 12, 12));
        }
        List<Rectangle> labels = new ArrayList<>();
        for (int[] p : points) {
            int before = taken.size();
            Rectangle r = Chart.placeLabel(g, "lbp-linf-2", p[0], p[1], Color.RED, plot, taken);
            assertNotNull(r, "room enough around the points");
            assertTrue(taken.size() == before + 1);
            for (Rectangle other : taken.subList(0, before)) {
                assertFalse(r.intersects(other), r + " overlaps " + other);
            }
            labels.add(r);
        }
        assertTrue(plot.contains(labels.get(0)));
    }

    @Test
    void writesAPngWithALongTitle(@TempDir Path tmp) throws Exception {
        Chart c =
                new Chart(
                        "Test accuracy against backward cost: efficientformer_l1 (weights.params)"
                            + " on fashion-mnist, train blocks 1, 2 epochs, batch 32, lr 5.0E-4,"
                            + " PyTorch",
                        "x",
                        "y");
        c.point("full", 1483.6, 80);
        c.point("lbp-l1-2", 96.9, 78);
        c.point("filter", 32.3, 78.2);
        c.write(tmp.resolve("c.png"), 1000, 600);
        assertTrue(ImageIO.read(tmp.resolve("c.png").toFile()).getWidth() == 1000);
    }
}
