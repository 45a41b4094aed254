package io.github.lbpdjl.zoo.efficientformer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The PyTorch engine's convolutions of EfficientFormer's shapes equal a direct computation.
 *
 * <p>DJL 0.36 ships libtorch 2.7.1, whose oneDNN AVX2 / AVX-512 convolution kernels give wrong
 * values for some shapes on some CPUs (found on an AMD EPYC with AVX-512: 3x3 convolutions of 24,
 * 28 or 40 input channels; efficientformer_l1's stem (24 -> 48 channels at 112x112) then makes NaN
 * logits). The zoo's tests run with {@code ONEDNN_MAX_CPU_ISA=SSE41} (model-zoo/pom.xml), which
 * avoids those kernels; run without it, this test names the failing shape.
 */
class LibtorchConvolutionTest {

    @ParameterizedTest
    @CsvSource({
        // in, out, kernel, stride, side: l1's stem conv2, the scan's failing shapes, l3's stem
        "24, 48, 3, 2, 112",
        "28, 48, 3, 1, 28",
        "40, 48, 3, 2, 28",
        "32, 64, 3, 2, 112"
    })
    void convolutionEqualsADirectComputation(int cin, int cout, int k, int stride, int side) {
        Random rng = new Random(1);
        float[] x = new float[cin * side * side];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        float[] w = new float[cout * cin * k * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rng.nextGaussian();
        }
        int pad = k / 2;
        int out = (side + 2 * pad - k) / stride + 1;
        float[] y;
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            y =
                    Conv2d.conv2d(
                                    m.create(x, new Shape(1, cin, side, side)),
                                    m.create(w, new Shape(cout, cin, k, k)),
                                    m.zeros(new Shape(cout)),
                                    new Shape(stride, stride),
                                    new Shape(pad, pad))
                            .singletonOrThrow()
                            .toFloatArray();
        }
        double err = 0;
        double scale = 0;
        for (int o = 0; o < cout; o += 5) {
            for (int i = 0; i < out; i += 3) {
                for (int j = 0; j < out; j += 2) {
                    double s = 0;
                    for (int c = 0; c < cin; c++) {
                        for (int a = 0; a < k; a++) {
                            for (int b = 0; b < k; b++) {
                                int r = stride * i - pad + a;
                                int q = stride * j - pad + b;
                                if (r >= 0 && q >= 0 && r < side && q < side) {
                                    s +=
                                            (double) x[(c * side + r) * side + q]
                                                    * w[((o * cin + c) * k + a) * k + b];
                                }
                            }
                        }
                    }
                    float got = y[(o * out + i) * out + j];
                    err = Float.isFinite(got) ? Math.max(err, Math.abs(got - s)) : Double.NaN;
                    scale = Math.max(scale, Math.abs(s));
                }
            }
        }
        double rel = err / scale;
        assertTrue(
                rel <= 1e-5,
                String.format(
                        "libtorch conv %d -> %d, %dx%d stride %d on %dx%d is off by %.2e"
                                + " (relative): the oneDNN kernels of this CPU; run with"
                                + " ONEDNN_MAX_CPU_ISA=SSE41 (ONEDNN_MAX_CPU_ISA=%s now)",
                        cin,
                        cout,
                        k,
                        k,
                        stride,
                        side,
                        side,
                        rel,
                        System.getenv("ONEDNN_MAX_CPU_ISA")));
    }
}
