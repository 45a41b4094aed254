package io.github.lbpdjl.zoo.vit;

import ai.djl.nn.Parameter;
import java.util.Map;

/** A plain-Java, double precision ViT forward written from timm's definition, for tests. */
final class ReferenceVit {

    private final Map<String, Parameter> p;
    private final VisionTransformer vit;

    ReferenceVit(VisionTransformer vit) {
        this.vit = vit;
        this.p = vit.timmParameters();
    }

    private float[] w(String name) {
        return p.get(name).getArray().toFloatArray();
    }

    /** Logits for one image (C_in * H * W, row-major). */
    double[] forward(float[] image) {
        int cin = vit.getInChannels();
        int hImg = vit.getImageHeight();
        int wImg = vit.getImageWidth();
        int ps = vit.getPatchSize();
        int c = vit.getEmbedDim();
        int gh = hImg / ps;
        int gw = wImg / ps;
        int n = gh * gw + 1;
        double[][] x = new double[n][c];
        float[] cw = w("patch_embed.proj.weight");
        float[] cb = w("patch_embed.proj.bias");
        for (int i = 0; i < gh; i++) {
            for (int j = 0; j < gw; j++) {
                for (int o = 0; o < c; o++) {
                    double s = cb[o];
                    for (int ch = 0; ch < cin; ch++) {
                        for (int u = 0; u < ps; u++) {
                            for (int v = 0; v < ps; v++) {
                                s +=
                                        cw[((o * cin + ch) * ps + u) * ps + v]
                                                * image[
                                                        (ch * hImg + i * ps + u) * wImg
                                                                + j * ps
                                                                + v];
                            }
                        }
                    }
                    x[1 + i * gw + j][o] = s;
                }
            }
        }
        float[] cls = w("cls_token");
        float[] pos = w("pos_embed");
        for (int o = 0; o < c; o++) {
            x[0][o] = cls[o];
        }
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < c; o++) {
                x[t][o] += pos[t * c + o];
            }
        }
        int heads = vit.getNumHeads();
        int hd = c / heads;
        double scale = Math.pow(hd, -0.5);
        for (int b = 0; b < vit.getDepth(); b++) {
            String pre = "blocks." + b + ".";
            double[][] y = layerNorm(x, pre + "norm1");
            double[][] qkv = linear(y, pre + "attn.qkv");
            double[][] out = new double[n][c];
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < n; i++) {
                    double[] a = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int d = 0; d < hd; d++) {
                            s += qkv[i][h * hd + d] * scale * qkv[j][c + h * hd + d];
                        }
                        a[j] = s;
                        max = Math.max(max, s);
                    }
                    double z = 0;
                    for (int j = 0; j < n; j++) {
                        a[j] = Math.exp(a[j] - max);
                        z += a[j];
                    }
                    for (int d = 0; d < hd; d++) {
                        double s = 0;
                        for (int j = 0; j < n; j++) {
                            s += a[j] / z * qkv[j][2 * c + h * hd + d];
                        }
                        out[i][h * hd + d] = s;
                    }
                }
            }
            double[][] proj = linear(out, pre + "attn.proj");
            add(x, proj);
            y = layerNorm(x, pre + "norm2");
            double[][] hid = linear(y, pre + "mlp.fc1");
            for (double[] row : hid) {
                for (int k = 0; k < row.length; k++) {
                    row[k] = 0.5 * row[k] * (1 + erf(row[k] / Math.sqrt(2)));
                }
            }
            add(x, linear(hid, pre + "mlp.fc2"));
        }
        double[][] normed = layerNorm(x, "norm");
        return linear(new double[][] {normed[0]}, "head")[0];
    }

    private static void add(double[][] x, double[][] y) {
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] += y[i][j];
            }
        }
    }

    private double[][] linear(double[][] x, String name) {
        float[] wt = w(name + ".weight");
        float[] bias = w(name + ".bias");
        int out = bias.length;
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int i = 0; i < in; i++) {
                    s += wt[o * in + i] * x[t][i];
                }
                y[t][o] = s;
            }
        }
        return y;
    }

    private double[][] layerNorm(double[][] x, String name) {
        float[] g = w(name + ".weight");
        float[] b = w(name + ".bias");
        double eps = vit.getLayerNormEps();
        double[][] y = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            int c = x[t].length;
            double mean = 0;
            for (double v : x[t]) {
                mean += v;
            }
            mean /= c;
            double var = 0;
            for (double v : x[t]) {
                var += (v - mean) * (v - mean);
            }
            var /= c;
            y[t] = new double[c];
            for (int i = 0; i < c; i++) {
                y[t][i] = (x[t][i] - mean) / Math.sqrt(var + eps) * g[i] + b[i];
            }
        }
        return y;
    }

    /** Coefficients of the Chebyshev fit in {@link #erf}, lowest power first. */
    private static final double[] ERFC_FIT = {
        -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
        0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277
    };

    /** erf with |error| < 1.2e-7 (Numerical Recipes erfc Chebyshev fit). */
    static double erf(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double poly = 0;
        for (int i = ERFC_FIT.length - 1; i >= 0; i--) {
            poly = poly * t + ERFC_FIT[i];
        }
        double r = t * Math.exp(-z * z + poly);
        return x >= 0 ? 1 - r : r - 1;
    }
}
