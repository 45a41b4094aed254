package io.github.lbpdjl.examples.plot;

import io.github.lbpdjl.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A small PNG chart: named series of (x, y) points drawn as lines and/or labelled markers, with
 * axes, ticks, a title and a legend. Java2D only (headless), so it runs anywhere the JVM does.
 */
public final class Chart {

    private static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e),
        new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
        new Color(0xbcbd22), new Color(0x17becf)
    };

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final List<Series> series = new ArrayList<>();
    private boolean logX;

    /** One named series. */
    private static final class Series {
        final String name;
        final double[] x;
        final double[] y;
        final boolean lines;
        final boolean labelPoints;

        Series(String name, double[] x, double[] y, boolean lines, boolean labelPoints) {
            this.name = name;
            this.x = x;
            this.y = y;
            this.lines = lines;
            this.labelPoints = labelPoints;
        }
    }

    /**
     * Creates an empty chart.
     *
     * @param title the title
     * @param xLabel the x axis label
     * @param yLabel the y axis label
     */
    public Chart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /**
     * Uses a logarithmic x axis (all x must be positive).
     *
     * @return this chart
     */
    public Chart logX() {
        this.logX = true;
        return this;
    }

    /**
     * Adds a series drawn as a line with markers.
     *
     * @param name the legend name
     * @param x x values
     * @param y y values
     * @return this chart
     */
    public Chart line(String name, double[] x, double[] y) {
        series.add(new Series(name, x.clone(), y.clone(), true, false));
        return this;
    }

    /**
     * Adds a single labelled point (its name is written beside it and in the legend).
     *
     * @param name the label
     * @param x x value
     * @param y y value
     * @return this chart
     */
    public Chart point(String name, double x, double y) {
        series.add(new Series(name, new double[] {x}, new double[] {y}, false, true));
        return this;
    }

    private double tx(double x) {
        return logX ? Math.log10(Math.max(x, 1e-12)) : x;
    }

    /**
     * Writes the chart as a PNG, atomically ({@link AtomicFiles}).
     *
     * @param file the PNG file
     * @param width pixels
     * @param height pixels
     * @throws IOException if writing fails
     */
    public void write(Path file, int width, int height) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(
                RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        double minX = Double.POSITIVE_INFINITY;
        double maxX = Double.NEGATIVE_INFINITY;
        double minY = Double.POSITIVE_INFINITY;
        double maxY = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x.length; i++) {
                if (Double.isFinite(s.x[i]) && Double.isFinite(s.y[i])) {
                    minX = Math.min(minX, tx(s.x[i]));
                    maxX = Math.max(maxX, tx(s.x[i]));
                    minY = Math.min(minY, s.y[i]);
                    maxY = Math.max(maxY, s.y[i]);
                }
            }
        }
        if (!Double.isFinite(minX)) {
            minX = 0;
            maxX = 1;
            minY = 0;
            maxY = 1;
        }
        double padX = (maxX - minX) * 0.08 + (maxX == minX ? 0.5 : 0);
        double padY =
                (maxY - minY) * 0.10 + (maxY == minY ? Math.max(Math.abs(maxY) * 0.05, 0.5) : 0);
        minX -= padX;
        maxX += padX;
        minY -= padY;
        maxY += padY;
        int left = 90;
        int right = width - 230;
        int top = 50;
        int bottom = height - 70;
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
        // the title (with its caption) shrinks until it fits the width
        float titleSize = 17f;
        g.setFont(font.deriveFont(Font.BOLD, titleSize));
        while (g.getFontMetrics().stringWidth(title) > width - 40 && titleSize > 10f) {
            titleSize -= 1f;
            g.setFont(font.deriveFont(Font.BOLD, titleSize));
        }
        FontMetrics fm = g.getFontMetrics();
        g.setColor(Color.BLACK);
        g.drawString(title, Math.max(20, (width - fm.stringWidth(title)) / 2), 30);
        g.setFont(font);
        fm = g.getFontMetrics();
        // grid and ticks
        g.setStroke(new BasicStroke(1f));
        for (double t : ticks(minY, maxY)) {
            int py = (int) Math.round(bottom - (t - minY) / (maxY - minY) * (bottom - top));
            g.setColor(new Color(0xe8e8e8));
            g.drawLine(left, py, right, py);
            g.setColor(Color.DARK_GRAY);
            String s = fmt(t);
            g.drawString(s, left - 8 - fm.stringWidth(s), py + fm.getAscent() / 2 - 2);
        }
        for (double t : ticks(minX, maxX)) {
            int px = (int) Math.round(left + (t - minX) / (maxX - minX) * (right - left));
            g.setColor(new Color(0xe8e8e8));
            g.drawLine(px, top, px, bottom);
            g.setColor(Color.DARK_GRAY);
            String s = logX ? fmt(Math.pow(10, t)) : fmt(t);
            g.drawString(s, px - fm.stringWidth(s) / 2, bottom + 20);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        g.drawString(xLabel, (left + right - fm.stringWidth(xLabel)) / 2, height - 25);
        AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        g.drawString(yLabel, -(top + bottom + fm.stringWidth(yLabel)) / 2, 25);
        g.setTransform(saved);
        // series; point labels are placed after every marker, where they hit nothing drawn
        List<Rectangle> taken = new ArrayList<>();
        List<Object[]> labels = new ArrayList<>();
        int legendY = top + 10;
        for (int si = 0; si < series.size(); si++) {
            Series s = series.get(si);
            Color c = PALETTE[si % PALETTE.length];
            g.setColor(c);
            g.setStroke(new BasicStroke(2.2f));
            int prevX = -1;
            int prevY = -1;
            for (int i = 0; i < s.x.length; i++) {
                if (!Double.isFinite(s.x[i]) || !Double.isFinite(s.y[i])) {
                    continue;
                }
                int px =
                        (int)
                                Math.round(
                                        left
                                                + (tx(s.x[i]) - minX)
                                                        / (maxX - minX)
                                                        * (right - left));
                int py =
                        (int) Math.round(bottom - (s.y[i] - minY) / (maxY - minY) * (bottom - top));
                if (s.lines && prevX >= 0) {
                    g.drawLine(prevX, prevY, px, py);
                }
                g.fillOval(px - 5, py - 5, 10, 10);
                taken.add(new Rectangle(px - 6, py - 6, 12, 12));
                if (s.labelPoints) {
                    labels.add(new Object[] {s.name, px, py, c});
                }
                prevX = px;
                prevY = py;
            }
            g.fillRect(right + 15, legendY - 9, 18, 10);
            g.setColor(Color.BLACK);
            g.drawString(s.name, right + 40, legendY);
            legendY += 22;
        }
        Rectangle plot = new Rectangle(left, top, right - left, bottom - top);
        for (Object[] l : labels) {
            placeLabel(g, (String) l[0], (int) l[1], (int) l[2], (Color) l[3], plot, taken);
        }
        g.dispose();
        AtomicFiles.write(
                file,
                out -> {
                    if (!ImageIO.write(img, "png", out)) {
                        throw new IOException("no PNG writer available for " + file);
                    }
                });
    }

    private static List<Double> ticks(double min, double max) {
        double span = max - min;
        double step = Math.pow(10, Math.floor(Math.log10(span / 5)));
        if (span / step > 10) {
            step *= 2;
        }
        if (span / step > 10) {
            step *= 2.5;
        }
        List<Double> out = new ArrayList<>();
        for (double t = Math.ceil(min / step) * step; t <= max + 1e-9; t += step) {
            out.add(Math.abs(t) < step * 1e-6 ? 0 : t);
        }
        return out;
    }

    private static String fmt(double v) {
        double a = Math.abs(v);
        if (a != 0 && (a >= 1e5 || a < 1e-2)) {
            return String.format(Locale.ROOT, "%.1e", v);
        }
        if (a >= 100 || v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        return String.format(Locale.ROOT, a >= 10 ? "%.1f" : "%.2f", v);
    }

    /**
     * Writes a point's label at the first of eight places around it that overlaps no marker or
     * label already drawn and stays in the plot; leaves it out (the legend names the point) if none
     * is free.
     *
     * @return where it was written, or null
     */
    static Rectangle placeLabel(
            Graphics2D g,
            String text,
            int px,
            int py,
            Color c,
            Rectangle plot,
            List<Rectangle> taken) {
        FontMetrics fm = g.getFontMetrics();
        int w = fm.stringWidth(text);
        int h = fm.getAscent();
        int[][] offsets = {
            {8, -8}, {8, h + 6}, {-8 - w, -8}, {-8 - w, h + 6},
            {-w / 2, -10}, {-w / 2, h + 12}, {10, h / 2 - 2}, {-10 - w, h / 2 - 2}
        };
        for (int[] o : offsets) {
            Rectangle r = new Rectangle(px + o[0], py + o[1] - h, w, h + 2);
            if (!plot.contains(r) || taken.stream().anyMatch(r::intersects)) {
                continue;
            }
            g.setColor(c);
            g.drawString(text, px + o[0], py + o[1]);
            taken.add(r);
            return r;
        }
        return null;
    }
}
