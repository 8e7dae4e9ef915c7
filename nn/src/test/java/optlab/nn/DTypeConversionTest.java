package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.autograd.Variable;
import optlab.kernels.DType;
import optlab.nn.models.CifarResNet;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** NOTE [dtype-conversion]: {@link Module#to(DType)} and {@link Module#dtype()}. The whole zoo in float64 is {@code Float64ModelsTest}. */
class DTypeConversionTest {
    @Test
    void toFloat64WidensEveryParameterAndBufferKeepingTheParameterObjects() {
        CifarResNet m = new CifarResNet(8, true, 10, new Generator(0));
        assertEquals(DType.FLOAT32, m.dtype());
        Parameter w = m.conv1.weight;
        float[] w32 = w.data().toFloatArray();
        // a gradient the parameter holds is converted with it
        try (Scope s = Scope.open()) {
            m.forward(new Variable(Tensor.randn(new Generator(1), 2, 3, 8, 8))).sum().backward();
        }
        float[] g32 = w.grad().toFloatArray();
        float[] rv32 = m.bn1.runningVar().toFloatArray();

        assertSame(m, m.to(DType.FLOAT64));
        assertEquals(DType.FLOAT64, m.dtype());
        assertSame(w, m.conv1.weight);
        assertSame(w, m.namedParameters().get("conv1.weight"));
        for (var e : m.namedState().entrySet()) assertEquals(DType.FLOAT64, e.getValue().dtype(), e.getKey());
        assertArrayEquals(widen(w32), w.data().toDoubleArray());
        assertEquals(DType.FLOAT64, w.grad().dtype());
        assertArrayEquals(widen(g32), w.grad().toDoubleArray());
        assertSame(m.bn1.runningVar(), m.namedBuffers().get("bn1.running_var"));
        assertArrayEquals(widen(rv32), m.bn1.runningVar().toDoubleArray());

        // and back: the widened values round to themselves
        assertSame(m, m.to(DType.FLOAT32));
        assertArrayEquals(w32, w.data().toFloatArray());
        assertArrayEquals(rv32, m.bn1.runningVar().toFloatArray());
        assertEquals(DType.FLOAT32, w.grad().dtype());
    }

    @Test
    void theArenaOfAFloat64ModelIsFloat64AndAPackedModelCannotConvert() {
        Sequential m = new Sequential(new Linear(3, 4, true, new Generator(0)), new Linear(4, 2, true, new Generator(1)));
        m.to(DType.FLOAT64);
        try (ParameterArena arena = ParameterArena.pack(m)) {
            assertEquals(DType.FLOAT64, arena.values().dtype());
            assertEquals(DType.FLOAT64, arena.grads().dtype());
            double[] before = arena.values().toDoubleArray();
            var e = assertThrows(IllegalStateException.class, () -> m.to(DType.FLOAT32));
            assertEquals("to(FLOAT32): parameter 0.weight is a view of a ParameterArena of FLOAT64; convert the model before packing it "
                    + "(model.to(dtype), then ParameterArena.pack(model))", e.getMessage());
            assertSame(m, m.to(DType.FLOAT64)); // the dtype it already has: fine
            assertArrayEquals(before, arena.values().toDoubleArray());
            assertTrue(m.namedParameters().get("0.weight").data().sharesStorageWith(arena.values()));
        }
    }

    @Test
    void onlyFloatingDtypesAndOneDtypePerModel() {
        Linear lin = new Linear(2, 2, true, new Generator(0));
        var e = assertThrows(IllegalArgumentException.class, () -> lin.to(DType.INT32));
        assertEquals("to(INT32): parameters and buffers convert to a floating dtype (FLOAT32 or FLOAT64) only", e.getMessage());
        Sequential mixed = new Sequential(new Linear(2, 2, true, new Generator(0)), new Linear(2, 2, true, new Generator(1)));
        mixed.children().get("1").to(DType.FLOAT64);
        var d = assertThrows(IllegalStateException.class, mixed::dtype);
        assertEquals("Sequential mixes dtypes: 0.weight is FLOAT32 but 1.weight is FLOAT64 (convert it with to(dtype))", d.getMessage());
        var p = assertThrows(IllegalArgumentException.class, () -> ParameterArena.pack(mixed));
        assertTrue(p.getMessage().startsWith("pack: parameter 1.weight is FLOAT64 on cpu but"), p.getMessage());
        assertEquals(DType.FLOAT32, new ReLU().dtype());
    }

    private static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
