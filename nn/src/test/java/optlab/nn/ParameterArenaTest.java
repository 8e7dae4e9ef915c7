package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.autograd.Variable;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import java.util.List;
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

    @Test
    void groupingOrdersParametersIntoContiguousGroupRanges() {
        Sequential m = new Sequential(new Linear(3, 4, true, new Generator(0)), new Linear(4, 2, true, new Generator(1)));
        float[] b0 = m.namedParameters().get("0.bias").data().toFloatArray();
        float[] w1 = m.namedParameters().get("1.weight").data().toFloatArray();
        try (ParameterArena arena = ParameterArena.pack(m, (name, p) -> p.shape().rank() <= 1 ? "no_decay" : "decay")) {
            // decay: 0.weight (12) then 1.weight (8); no_decay: 0.bias (4) then 1.bias (2)
            assertEquals(List.of(new ParameterArena.Group("decay", 0, 20, List.of("0.weight", "1.weight")),
                    new ParameterArena.Group("no_decay", 20, 6, List.of("0.bias", "1.bias"))), arena.groups());
            assertEquals(List.of("0.weight", "1.weight", "0.bias", "1.bias"), arena.entries().stream().map(ParameterArena.Entry::name).toList());
            assertEquals(12, arena.entries().get(1).offset());
            assertEquals(20, arena.entries().get(2).offset());
            assertArrayEquals(b0, m.namedParameters().get("0.bias").data().toFloatArray());
            assertArrayEquals(w1, m.namedParameters().get("1.weight").data().toFloatArray());
            try (Tensor range = arena.values().narrow(0, 12, 8)) {
                assertArrayEquals(w1, range.toFloatArray());
            }
            assertEquals(20, arena.group("no_decay").offset());
            var e = assertThrows(IllegalArgumentException.class, () -> arena.group("bn"));
            assertEquals("no parameter group 'bn' in this arena; its groups are [decay, no_decay]", e.getMessage());
        }
    }

    @Test
    void plainPackingIsOneGroupCoveringTheArena() {
        Linear lin = new Linear(2, 3, true, new Generator(0));
        try (ParameterArena arena = ParameterArena.pack(lin)) {
            assertEquals(List.of(new ParameterArena.Group(ParameterArena.ALL, 0, 9, List.of("weight", "bias"))), arena.groups());
        }
    }

    /**
     * NOTE [one-arena]: a second pack used to re-point the parameters at the new arena silently, and the
     * first arena's optimizer then stepped with gradients that nothing wrote. It is refused, naming the
     * first packed parameter, and the first arena keeps working.
     */
    @Test
    void packingAPackedModelAgainIsRefusedByName() {
        Sequential m = new Sequential(new Linear(3, 4, true, new Generator(0)), new Linear(4, 2, true, new Generator(1)));
        try (ParameterArena arena = ParameterArena.pack(m)) {
            float[] before = arena.values().toFloatArray();
            var e = assertThrows(IllegalStateException.class, () -> ParameterArena.pack(m));
            assertEquals("pack: parameter 0.weight of Sequential is already packed into a ParameterArena; a model is packed once "
                    + "(an arena cannot be unpacked): build a new model to pack again, and copy its weights over (Checkpoint) if needed",
                    e.getMessage());
            var g = assertThrows(IllegalStateException.class, () -> ParameterArena.pack(m, (name, p) -> "all"));
            assertTrue(g.getMessage().startsWith("pack: parameter 0.weight "), g.getMessage());
            // a child of a packed model is packed too
            var c = assertThrows(IllegalStateException.class, () -> ParameterArena.pack(m.children().get("1")));
            assertTrue(c.getMessage().startsWith("pack: parameter weight of Linear is already packed"), c.getMessage());
            // the first arena is untouched and still the parameters' home
            assertArrayEquals(before, arena.values().toFloatArray());
            for (ParameterArena.Entry en : arena.entries()) {
                assertTrue(en.parameter().data().sharesStorageWith(arena.values()), en.name());
                assertTrue(en.parameter().grad().sharesStorageWith(arena.grads()), en.name());
            }
        }
    }
}
