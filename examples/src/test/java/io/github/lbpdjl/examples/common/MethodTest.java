package io.github.lbpdjl.examples.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.lbpdjl.wht.BasisSelection;
import org.junit.jupiter.api.Test;

/** The method names of the adaptation program and the benchmarks. */
class MethodTest {

    @Test
    void methodNames() {
        assertEquals(BasisSelection.lowPassL1(4), Method.parse("lbp-l1-4").getSelection());
        assertEquals(BasisSelection.lowPassLinf(2), Method.parse("LBP-Linf-2").getSelection());
        assertEquals(1, Method.parse("filter").getSelection().count(8));
        assertEquals(Method.Kind.HEAD, Method.parse("head").getKind());
        assertEquals(0.9, Method.parse("energy-0.9").getEnergyTarget());
        assertEquals(Method.Kind.LORA, Method.parse("lora-8").getKind());
        assertEquals(8, Method.parse("lora-8").getRank());
        Method both = Method.parse("lora-4+lbp-l1-2");
        assertEquals(Method.Kind.LORA_LBP, both.getKind());
        assertEquals(4, both.getRank());
        assertEquals(BasisSelection.lowPassL1(2), both.getSelection());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Method.parse("lora"));
        assertTrue(e.getMessage().contains("'lora'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Method.parse("lora-0"));
        assertThrows(IllegalArgumentException.class, () -> Method.parse("lora-8+full"));
        assertThrows(IllegalArgumentException.class, () -> Method.parse("lbp-l1-x"));
        assertThrows(IllegalArgumentException.class, () -> Method.parse("energy-1.5"));
    }

    @Test
    void benchmarkNamesKeepTheirSpelling() {
        Method lp = Method.parse("LP_L1-2");
        assertEquals("LP_L1-2", lp.getName());
        assertEquals(Method.Kind.LBP, lp.getKind());
        assertEquals(BasisSelection.lowPassL1(2), lp.getSelection());
        assertEquals(3, lp.getBasisCount());
        Method both = Method.parse("lora-8+LP_L1-2");
        assertEquals("lora-8+LP_L1-2", both.getName());
        assertEquals(Method.Kind.LORA_LBP, both.getKind());
        assertEquals(8, both.getRank());
        assertEquals(3, both.getBasisCount());
        assertEquals("lbp-linf-2", Method.parse("LBP-Linf-2").getName());
        assertEquals("lora-4+lbp-l1-2", Method.parse("lora-4+lbp-l1-2").getName());
        assertEquals(0, Method.parse("full").getBasisCount());
        assertNull(Method.parse("lora-8").lbpConfig());
    }
}
