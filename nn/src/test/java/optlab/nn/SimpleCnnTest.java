package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.nn.models.SimpleCnn;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

class SimpleCnnTest {
    @Test
    void parameterCountAndNames() {
        SimpleCnn m = new SimpleCnn(new Generator(0));
        // 5*5*1*32 + 32, 5*5*32*64 + 64, 3136*1024 + 1024, 1024*10 + 10 (see the class javadoc)
        assertEquals(832 + 51_264 + 3_212_288 + 10_250, m.parameterCount());
        assertEquals(List.of("net.0.weight", "net.0.bias", "net.3.weight", "net.3.bias", "net.7.weight", "net.7.bias",
                "net.9.weight", "net.9.bias"), List.copyOf(m.namedParameters().keySet()));
        assertEquals(Shape.of(1024, 3136), m.namedParameters().get("net.7.weight").shape());
    }

    @Test
    void deepObsInitialization() {
        SimpleCnn m = new SimpleCnn(new Generator(1));
        float[] w = m.namedParameters().get("net.7.weight").data().toFloatArray();
        double sq = 0;
        for (float v : w) {
            assertTrue(Math.abs(v) <= 0.1f + 1e-7f, "truncated normal beyond 2 std: " + v);
            sq += v * v;
        }
        // std of a normal truncated at 2 std is 0.8796 * 0.05; 3.2M samples pin it to 1e-3 relative
        assertEquals(0.05 * 0.8796, Math.sqrt(sq / w.length), 0.05 * 0.8796 * 2e-3);
        for (float b : m.namedParameters().get("net.9.bias").data().toFloatArray()) assertEquals(0.05f, b);
    }

    @Test
    void forwardAndBackwardOnATinyBatch() {
        SimpleCnn m = new SimpleCnn(new Generator(2));
        try (ParameterArena arena = ParameterArena.pack(m); Scope s = Scope.open()) {
            Variable x = new Variable(Tensor.rand(new Generator(3), 2, 1, 28, 28));
            Variable logits = m.forward(x);
            assertEquals(Shape.of(2, 10), logits.shape());
            Functional.crossEntropy(logits, Tensor.ofInts(new int[] {3, 7}, 2)).backward();
            double norm = 0;
            for (float g : arena.grads().toFloatArray()) norm += g * g;
            assertTrue(norm > 0 && Double.isFinite(norm), "gradient norm " + norm);
        }
    }

    @Test
    void aWrongInputShapeIsNamed() {
        SimpleCnn m = new SimpleCnn(new Generator(2));
        var e = assertThrows(IllegalArgumentException.class, () -> m.forward(new Variable(Tensor.zeros(2, 1, 32, 32))));
        assertEquals("SimpleCnn: expects images of shape (n, 1, 28, 28), got [2, 1, 32, 32]", e.getMessage());
    }

    @Test
    void trainAndEvalReachEveryModule() {
        SimpleCnn m = new SimpleCnn(new Generator(0));
        m.eval();
        assertTrue(m.children().values().stream().noneMatch(Module::isTraining));
        m.train();
        assertTrue(((Sequential) m.children().get("net")).get(0).isTraining());
    }

    @Test
    void printsLikePyTorch() {
        String s = new Sequential(new Linear(3, 2, true, new Generator(0)), new ReLU()).toString();
        assertEquals("Sequential(\n  (0): Linear(in_features=3, out_features=2, bias=true)\n  (1): ReLU()\n)", s);
        assertArrayEquals(new int[] {2, 3}, new Linear(3, 2, false, new Generator(0)).weight.shape().toArray());
    }
}
