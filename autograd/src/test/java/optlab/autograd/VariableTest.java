package optlab.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.kernels.cpu.CpuBackend;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The engine's semantics: accumulation, fan-out, no-grad, leaves, errors, and no leaked buffers. */
class VariableTest {
    @Test
    void gradientsAccumulateAcrossBackwardCallsAndOverFanOut() {
        Variable x = new Variable(Tensor.of(new float[] {1, 2, 3}, 3), true);
        try (Scope s = Scope.open()) {
            // y = sum(x * x + x): dy/dx = 2x + 1; x is used twice (fan-out)
            x.mul(x).add(x).sum().backward();
        }
        assertArrayEquals(new float[] {3, 5, 7}, x.grad().toFloatArray());
        try (Scope s = Scope.open()) {
            x.sum().backward(); // accumulates (+= 1)
        }
        assertArrayEquals(new float[] {4, 6, 8}, x.grad().toFloatArray());
    }

    @Test
    void aSharedSubexpressionIsDifferentiatedOnce() {
        Variable x = new Variable(Tensor.of(new float[] {2}, 1), true);
        try (Scope s = Scope.open()) {
            Variable h = x.exp();
            // z = h*h + 3h: dz/dx = (2h + 3) h; diamond-shaped graph
            h.mul(h).add(h.mul(3)).sum().backward();
        }
        double h = Math.exp(2);
        assertEquals((2 * h + 3) * h, x.grad().item(), 1e-3 * h * h);
    }

    @Test
    void noGradRecordsNothing() {
        Variable x = new Variable(Tensor.ones(2), true);
        Variable y;
        try (Grad.Mode off = Grad.disabled()) {
            y = x.mul(2);
            assertFalse(Grad.isEnabled());
        }
        assertTrue(Grad.isEnabled());
        assertFalse(y.requiresGrad());
        assertNull(y.gradFn());
        assertThrows(IllegalStateException.class, y::backward);
    }

    @Test
    void constantsGetNoGradient() {
        Variable x = new Variable(Tensor.ones(2), true), c = new Variable(Tensor.ones(2));
        x.mul(c).sum().backward();
        assertNull(c.grad());
        assertArrayEquals(new float[] {1, 1}, x.grad().toFloatArray());
    }

    @Test
    void backwardOfANonScalarNeedsAGradient() {
        Variable x = new Variable(Tensor.ones(2, 2), true).named("x");
        var e = assertThrows(IllegalStateException.class, () -> x.mul(2).backward());
        assertTrue(e.getMessage().contains("only for a one-element output"), e.getMessage());
    }

    @Test
    void presetGradientBuffersAreAccumulatedInPlace() {
        Variable w = new Variable(Tensor.of(new float[] {1, 2}, 2), true);
        Tensor g = Tensor.of(new float[] {10, 10}, 2);
        w.setGrad(g);
        w.mul(w).sum().backward();
        assertTrue(w.grad() == g);
        assertArrayEquals(new float[] {12, 14}, g.toFloatArray());
    }

    @Test
    void aTrainingStepInsideAScopeLeavesNoBuffersBehind() {
        Variable w = new Variable(Tensor.of(new float[] {0.5f, -0.5f, 1f, 2f, 0f, 1f}, 3, 2), true);
        w.setGrad(Tensor.zeros(3, 2));
        long before = CpuBackend.get().memoryStats().liveBuffers();
        for (int step = 0; step < 3; step++) {
            try (Scope s = Scope.open()) {
                Variable x = new Variable(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2));
                Variable loss = Functional.crossEntropy(x.matmul(w.t()).relu(), Tensor.ofInts(new int[] {0, 2}, 2));
                loss.backward();
            }
        }
        assertEquals(before, CpuBackend.get().memoryStats().liveBuffers());
    }
}
