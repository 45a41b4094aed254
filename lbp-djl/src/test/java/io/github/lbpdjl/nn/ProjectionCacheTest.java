package io.github.lbpdjl.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.engine.ProjectionArrays;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.Padding;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProjectionCacheTest {

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void keepsTheArraysWhileTheyFitAndRemakesThemOtherwise(String engine) {
        TokenLayout layout = TokenLayout.grid(1, 8, 8);
        PatchProjection p2 =
                PatchProjection.of(layout, 8, BasisSelection.lowPassL1(2), Padding.ZERO);
        PatchProjection p4 =
                PatchProjection.of(layout, 8, BasisSelection.lowPassL1(4), Padding.ZERO);
        try (NDManager model = Engine.getEngine(engine).newBaseManager();
                ProjectionCache cache = new ProjectionCache()) {
            NDArray x = model.zeros(new Shape(2, 65, 4));
            ProjectionArrays first = cache.get(p2, x, model);
            assertSame(first, cache.get(p2, x, model), "same projection, type and device: kept");
            assertEquals(new Shape(3 + 1, 65), first.getGather().getShape());
            ProjectionArrays other = cache.get(p4, x, model);
            assertNotSame(first, other, "a new selection: remade");
            assertEquals(new Shape(10 + 1, 65), other.getGather().getShape());
            assertThrows(
                    IllegalStateException.class,
                    () -> first.getGather().toFloatArray(),
                    "the old ones are freed");
            ProjectionArrays f64 = cache.get(p4, x.toType(DataType.FLOAT64, false), model);
            assertNotSame(other, f64, "a new data type: remade");
            assertEquals(DataType.FLOAT64, f64.getGather().getDataType());
            assertEquals(
                    1f,
                    cache.get(p4, x.toType(DataType.FLOAT64, false), model)
                            .getGather()
                            .toType(DataType.FLOAT32, false)
                            .toFloatArray()[0]);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void keepsOneSetPerDeviceSoThatSplitBatchesDoNotRemakeThem(String engine) {
        // DJL splits a batch over the trainer's devices and runs each split on its device; a
        // CPU-only machine cannot build such a trainer (DJL holds all CPU devices equal and
        // refuses duplicates), so the cache is keyed here on two GPUs while the arrays stay on CPU
        TokenLayout layout = TokenLayout.grid(1, 8, 8);
        PatchProjection p2 =
                PatchProjection.of(layout, 8, BasisSelection.lowPassL1(2), Padding.ZERO);
        Device gpu0 = Device.gpu(0);
        Device gpu1 = Device.gpu(1);
        try (NDManager model = Engine.getEngine(engine).newBaseManager();
                ProjectionCache cache = new ProjectionCache()) {
            NDArray x = model.zeros(new Shape(2, 65, 4));
            ProjectionArrays a0 = cache.get(p2, x, model, gpu0);
            ProjectionArrays a1 = cache.get(p2, x, model, gpu1);
            assertNotSame(a0, a1);
            for (int pass = 0; pass < 3; pass++) { // the splits of three batches
                assertSame(a0, cache.get(p2, x, model, gpu0));
                assertSame(a1, cache.get(p2, x, model, gpu1));
            }
            assertEquals(2, cache.made(), "one set per device, not one per split");
            assertArrayEquals(a0.getGather().toFloatArray(), a1.getGather().toFloatArray());
            PatchProjection p4 =
                    PatchProjection.of(layout, 8, BasisSelection.lowPassL1(4), Padding.ZERO);
            ProjectionArrays b1 = cache.get(p4, x, model, gpu1);
            assertSame(a0, cache.get(p2, x, model, gpu0), "a device's change leaves the other");
            assertThrows(IllegalStateException.class, () -> a1.getGather().toFloatArray());
            cache.close();
            assertThrows(IllegalStateException.class, () -> a0.getGather().toFloatArray());
            assertThrows(IllegalStateException.class, () -> b1.getGather().toFloatArray());
        }
    }
}
