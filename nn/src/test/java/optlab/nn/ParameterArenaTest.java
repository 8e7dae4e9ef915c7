package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.autograd.Variable;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

class ParameterArenaTest {
    @Test
    void everyParameterBecomesAViewOfOneBufferWithItsValuesKept() {
        Sequential m = new Sequential(new Linear(3, 4, true, new Generator(0)), new Linear(4, 2, true, new Generator(1)));
        float[] w0 = m.namedParameters().get("0.weight").data().toFloatArray();
        float[] b1 = m.namedParameters().get("1.bias").data().toFloatArray();
        try (ParameterArena arena = ParameterArena.pack(m)) {
            assertEquals(3 * 4 + 4 + 4 * 2 + 2, arena.size());
            assertArrayEquals(w0, m.namedParameters().get("0.weight").data().toFloatArray());
            assertArrayEquals(b1, m.namedParameters().get("1.bias").data().toFloatArray());
            for (ParameterArena.Entry e : arena.entries()) {
                assertTrue(e.parameter().data().sharesStorageWith(arena.values()), e.name());
                assertTrue(e.parameter().grad().sharesStorageWith(arena.grads()), e.name());
            }
            assertEquals("1.weight", arena.entryAt(16 + 3).name()); // offsets: 0.weight 0..11, 0.bias 12..15, 1.weight 16..23
            // writing the flat buffer is writing the parameters
            arena.values().fillInPlace(0.5);
            assertArrayEquals(new float[] {0.5f, 0.5f}, m.namedParameters().get("1.bias").data().toFloatArray());
        }
    }

    @Test
    void backwardAccumulatesIntoTheFlatGradientBuffer() {
        Linear lin = new Linear(2, 1, true, new Generator(0));
        try (ParameterArena arena = ParameterArena.pack(lin)) {
            for (int rep = 0; rep < 2; rep++) {
                try (Scope s = Scope.open()) {
                    lin.forward(new Variable(Tensor.of(new float[] {1, 2}, 1, 2))).sum().backward();
                }
            }
            // d(x.w + b)/dw = x, /db = 1; twice accumulated
            assertArrayEquals(new float[] {2, 4, 2}, arena.grads().toFloatArray());
            arena.zeroGrad();
            assertArrayEquals(new float[] {0, 0, 0}, arena.grads().toFloatArray());
        }
    }
}
