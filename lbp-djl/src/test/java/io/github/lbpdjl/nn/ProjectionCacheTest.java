package io.github.lbpdjl.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
}
