package optlab.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.RandomDistribution;
import optlab.kernels.cpu.CpuBackend;
import optlab.tensor.Generator;
import optlab.tensor.NeuralOps;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The LSTM layer node ({@link Functional#lstmSequence}) beyond its gradient checks (GradCheckTest#lstmSequence): inputs
 * that do not require gradients, non-contiguous inputs, one backward per forward, the forward's kernel choice
 * enforced in the backward, nothing leaked. (Cases first written by a review of the node, 2026-11-21.)
 */
class LstmSequenceTest {
    private final Generator gen = new Generator(77);
    private static final int T = 4, N = 3, IN = 5, H = 2;

    private Tensor randn(int... shape) {
        return Tensor.random(RandomDistribution.NORMAL, 0, 1, gen, Shape.of(shape), DType.FLOAT64, Device.CPU);
    }

    /** sum(yc * r): every output element gets its own weight. */
    private static Variable loss(Variable yc, Tensor r) {
        return yc.mul(new Variable(r)).sum();
    }

    @Test
    void frozenAndNonContiguousInputsGetTheGradientsOfTheFullCase() {
        try (Scope s = Scope.open()) {
            Tensor x = randn(T, N, IN), c0 = randn(N, H), wi = randn(4 * H, IN), wh = randn(4 * H, H), bi = randn(4 * H), bh = randn(4 * H);
            Tensor state = randn(N, 2, H), r = randn(T + 1, N, H);
            Tensor h0 = state.select(1, 0); // a strided view
            assertFalse(h0.isContiguous());
            Variable[] all = {new Variable(x, true), new Variable(h0.contiguous(), true), new Variable(c0, true), new Variable(wi, true),
                new Variable(wh, true), new Variable(bi, true), new Variable(bh, true)};
            Variable yAll = Functional.lstmSequence(all[0], all[1], all[2], all[3], all[4], all[5], all[6]);
            loss(yAll, r).backward();

            // x (a transposed view) and h0 (the strided view) and bIh frozen; the rest trained
            Tensor xT = x.transpose(0, 1).contiguous().transpose(0, 1);
            assertFalse(xT.isContiguous());
            Variable[] some = {new Variable(xT), new Variable(h0), new Variable(c0, true), new Variable(wi, true), new Variable(wh, true),
                new Variable(bi), new Variable(bh, true)};
            Variable y = Functional.lstmSequence(some[0], some[1], some[2], some[3], some[4], some[5], some[6]);
            assertArrayEquals(yAll.data().toDoubleArray(), y.data().toDoubleArray(), 0);
            loss(y, r).backward();
            for (int i : new int[] {0, 1, 5}) assertNull(some[i].grad(), "input " + i + " does not require a gradient");
            for (int i : new int[] {2, 3, 4, 6}) {
                assertArrayEquals(all[i].grad().toDoubleArray(), some[i].grad().toDoubleArray(), 0, "gradient of input " + i);
            }
            // both biases get the gradient of their sum, as separate tensors
            assertArrayEquals(all[5].grad().toDoubleArray(), all[6].grad().toDoubleArray(), 0);
            assertFalse(all[5].grad().sharesStorageWith(all[6].grad()));
        }
    }

    @Test
    void oneBackwardPerForward() {
        try (Scope s = Scope.open()) {
            Variable w = new Variable(randn(4 * H, IN), true);
            Variable l = loss(Functional.lstmSequence(new Variable(randn(T, N, IN)), null, null, w, new Variable(randn(4 * H, H), true), null,
                    null), randn(T + 1, N, H));
            l.backward();
            var e = assertThrows(IllegalStateException.class, l::backward);
            assertTrue(e.getMessage().contains("backward ran twice through one LSTM node"), e.getMessage());
        }
    }

    @Test
    void theBackwardRefusesAnotherKernelChoiceThanTheForwards() {
        try (Scope s = Scope.open()) {
            Tensor x = randn(T, N, IN), wi = randn(4 * H, IN), wh = randn(4 * H, H);
            NeuralOps.LstmSequenceOutput out = NeuralOps.lstmSequence(x, null, null, wi, wh, null, null, true);
            assertEquals("lstm=cpu_steps", out.variant());
            // as if the forward had run under another variant (the CPU has one; CUDA has own_steps and cudnn)
            var forged = new NeuralOps.LstmSequenceOutput(out.yc(), out.reserve(), "lstm=cudnn");
            var e = assertThrows(IllegalStateException.class,
                    () -> NeuralOps.lstmSequenceBackward(x, null, null, wi, wh, forged, randn(T + 1, N, H), true, false, false));
            assertTrue(e.getMessage().contains("the forward ran under lstm=cudnn and the backward would run under lstm=cpu_steps"),
                    e.getMessage());
        }
    }

    @Test
    void trainingAndInferenceLeaveNoBuffers() {
        Tensor x = randn(T, N, IN), wi = randn(4 * H, IN), wh = randn(4 * H, H), b = randn(4 * H), h0 = randn(N, H), c0 = randn(N, H);
        long live = CpuBackend.get().memoryStats().liveBuffers();
        for (int round = 0; round < 3; round++) {
            Variable vx = new Variable(x, round != 1), vw = new Variable(wi, true), vh = new Variable(wh, true);
            Variable vb = new Variable(b, round != 2), vb2 = new Variable(b, true), vh0 = new Variable(h0, round == 0);
            try (Scope s = Scope.open()) {
                Functional.lstmSequence(vx, vh0, new Variable(c0), vw, vh, vb, vb2).sum().backward();
            }
            for (Variable v : new Variable[] {vx, vw, vh, vb, vb2, vh0}) if (v.grad() != null) v.grad().close();
            assertEquals(live, CpuBackend.get().memoryStats().liveBuffers(), "training, round " + round);
            try (Scope s = Scope.open(); Grad.Mode off = Grad.disabled()) {
                Functional.lstmSequence(vx, null, null, vw, vh, null, null);
            }
            assertEquals(live, CpuBackend.get().memoryStats().liveBuffers(), "inference, round " + round);
        }
        // a refused call keeps nothing: a FLOAT32 x against FLOAT64 weights
        try (Tensor xf = x.to(DType.FLOAT32)) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Functional.lstmSequence(new Variable(xf), null, null, new Variable(wi, true), new Variable(wh, true), null, null));
            assertTrue(e.getMessage().startsWith("lstmSequence: "), e.getMessage());
        }
        assertEquals(live, CpuBackend.get().memoryStats().liveBuffers(), "after a refused call");
    }
}
