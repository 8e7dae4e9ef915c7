package optlab.nn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.kernels.DType;
import optlab.nn.Module;
import optlab.nn.ParameterArena;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * NOTE [dtype-conversion]: every model of the zoo, converted with {@code to(DType.FLOAT64)}, runs forward
 * and backward in float64 on the CPU (the double-precision reference kernels) and computes what its
 * float32 twin computes: the same weights (widened exactly), the same dropout masks, the same loss and
 * gradients up to float32's rounding.
 *
 * <p>Tolerances. Per parameter, {@code ||g32 - g64|| <= 1e-4 ||g64|| + 1e-6 ||G64||} (G64 all of the
 * model's gradient), and the loss to 1e-5 relative. Measured (2026-12, CPU): the worst per-parameter
 * relative difference was 2.2e-6 (DenseNet-BC-22 with BN), 1.1e-6 for ResNet-50; losses agreed to 1.1e-6.
 * Float32's unit roundoff is 6e-8, and reductions of a few thousand terms through 10 to 50 layers
 * make errors of 1e-6 expected, so 1e-4 leaves a margin of 50 while a wrong float64 op (an error of order
 * one) cannot pass. The absolute term is for parameters whose true gradient is zero: a convolution's bias
 * right before batch norm (VGG-11 with BN), which batch norm's mean subtraction cancels; float32 then
 * returns rounding noise of about 1e-9 of the model's gradient, float64 about 1e-17.
 *
 * <p>ResNet-50 is compared in inference mode. In training mode at 32 x 32 its last stage is 1 x 1, so
 * batch norm normalizes 2 values per channel, and both outputs are nearly +-1 whatever the input: the
 * loss is then ill-conditioned, and float32 and float64 differ by 24% in the loss at batch 2 (1.4e-5 at
 * batch 8, with gradients differing by up to 5%): the problem's conditioning, not an error in either
 * path, which agree to 1e-6 once batch norm uses its running statistics. Its training-mode float64
 * forward and backward runs in the optimizer module's float64 training test.
 */
class Float64ModelsTest {
    private static final double RTOL = 1e-4, GLOBAL_ATOL = 1e-6, LOSS_RTOL = 1e-5;

    record Pass(double loss, Map<String, double[]> grads, Map<String, double[]> buffers) {}

    static Stream<Arguments> models() {
        return Stream.of(
                model("SimpleCnn", () -> new SimpleCnn(new Generator(1)), () -> Tensor.rand(new Generator(2), 2, 1, 28, 28)),
                model("CifarResNet-8 with BN", () -> new CifarResNet(8, true, 10, new Generator(1)), () -> Tensor.randn(new Generator(2), 4, 3, 16, 16)),
                model("CifarResNet-8 without BN", () -> new CifarResNet(8, false, 10, new Generator(1)), () -> Tensor.randn(new Generator(2), 4, 3, 16, 16)),
                model("DenseNet-BC-22 with BN", () -> new DenseNetBC(22, 12, true, 10, new Generator(1)), () -> Tensor.randn(new Generator(2), 2, 3, 16, 16)),
                model("DenseNet-BC-22 without BN", () -> new DenseNetBC(22, 12, false, 10, new Generator(1)), () -> Tensor.randn(new Generator(2), 2, 3, 16, 16)),
                model("All-CNN-C (dropout)", () -> new AllCnnC(10, new Generator(1), new Generator(3)), () -> Tensor.randn(new Generator(2), 2, 3, 32, 32)),
                model("VGG-11 with BN", () -> new Vgg11(true, 10, new Generator(1)), () -> Tensor.randn(new Generator(2), 2, 3, 32, 32)),
                model("VGG-11 without BN", () -> new Vgg11(false, 10, new Generator(1)), () -> Tensor.randn(new Generator(2), 2, 3, 32, 32)),
                model("ResNet-50 at 32x32, inference mode", () -> new ResNet50(10, new Generator(1)).eval(),
                        () -> Tensor.randn(new Generator(2), 2, 3, 32, 32)));
    }

    private static Arguments model(String name, Supplier<Module> make, Supplier<Tensor> input) {
        return Arguments.of(name, make, input);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void float64ForwardAndBackwardAgreeWithFloat32(String name, Supplier<Module> make, Supplier<Tensor> input) {
        Module m32 = make.get(), m64 = make.get();
        assertSame(m64, m64.to(DType.FLOAT64));
        assertEquals(DType.FLOAT64, m64.dtype());
        assertWidenedExactly(name, m32, m64);
        Tensor x = input.get();
        Pass a = run(m32, x);
        Pass b;
        try (Tensor x64 = x.to(DType.FLOAT64)) {
            b = run(m64, x64);
        }
        assertClose(name, a, b);
        // the arena packed from a float64 model is float64, and its gradients are the ones above
        try (ParameterArena arena = ParameterArena.pack(m64)) {
            assertEquals(DType.FLOAT64, arena.values().dtype(), name);
            assertEquals(DType.FLOAT64, arena.grads().dtype(), name);
        }
    }

    /** The character LSTM (embedding, two LSTM layers, dropout, carried state, sequence cross-entropy). */
    @Test
    void charLstmInFloat64AgreesWithFloat32() {
        for (CharLstm.Layout layout : CharLstm.Layout.values()) {
            Supplier<CharLstm> make = () -> new CharLstm(20, 16, 12, 2, 0.8, layout, new Generator(1), new Generator(2));
            CharLstm m32 = make.get(), m64 = make.get();
            m64.to(DType.FLOAT64);
            assertWidenedExactly("CharLstm " + layout, m32, m64);
            try (Scope s = Scope.open()) {
                assertEquals(DType.FLOAT64, m64.zeroState(3).h().dtype());
            }
            assertClose("CharLstm " + layout, runLstm(m32), runLstm(m64));
        }
    }

    private static Pass runLstm(CharLstm m) {
        int[] tok = new int[3 * 5];
        for (int i = 0; i < tok.length; i++) tok[i] = (i * 7) % 20;
        try (Scope s = Scope.open()) {
            Tensor tokens = Tensor.ofInts(tok, 3, 5);
            CharLstm.Output out = m.forward(tokens, null);
            CharLstm.Output out2 = m.forward(tokens, out.state()); // the carried state, in the model's dtype
            assertEquals(m.dtype(), out2.logits().dtype());
            Variable loss = CharLstm.loss(out2.logits(), tokens);
            loss.backward();
            return new Pass(loss.item(), grads(m), Map.of());
        }
    }

    private static Pass run(Module m, Tensor x) {
        try (Scope s = Scope.open()) {
            Variable logits = m.forward(new Variable(x));
            assertEquals(x.dtype(), logits.dtype());
            int classes = logits.size(1);
            int[] labels = new int[x.size(0)];
            for (int i = 0; i < labels.length; i++) labels[i] = (7 * i + 3) % classes;
            Variable loss = Functional.crossEntropy(logits, Tensor.ofInts(labels, labels.length));
            loss.backward();
            Map<String, double[]> buffers = new LinkedHashMap<>(); // batch norm's running statistics, updated in training mode
            for (var e : m.namedBuffers().entrySet()) {
                assertEquals(x.dtype(), e.getValue().dtype(), e.getKey());
                buffers.put(e.getKey(), e.getValue().toDoubleArray());
            }
            return new Pass(loss.item(), grads(m), buffers);
        }
    }

    private static Map<String, double[]> grads(Module m) {
        Map<String, double[]> g = new LinkedHashMap<>();
        for (var e : m.namedParameters().entrySet()) {
            assertEquals(m.dtype(), e.getValue().grad().dtype(), e.getKey());
            g.put(e.getKey(), e.getValue().grad().toDoubleArray());
        }
        return g;
    }

    private static void assertWidenedExactly(String what, Module m32, Module m64) {
        for (var e : m32.namedState().entrySet()) {
            Tensor t64 = m64.namedState().get(e.getKey());
            assertEquals(DType.FLOAT64, t64.dtype(), what + ": " + e.getKey());
            float[] f = e.getValue().toFloatArray();
            double[] widened = new double[f.length];
            for (int i = 0; i < f.length; i++) widened[i] = f[i];
            assertArrayEquals(widened, t64.toDoubleArray(), what + ": " + e.getKey());
        }
    }

    private static void assertClose(String what, Pass a, Pass b) {
        assertTrue(Math.abs(a.loss() - b.loss()) <= LOSS_RTOL * Math.abs(b.loss()), what + ": loss " + a.loss() + " (float32) vs " + b.loss());
        double total = 0;
        for (double[] g : b.grads().values()) total += sumSq(g);
        double globalNorm = Math.sqrt(total);
        assertTrue(globalNorm > 0, what + ": zero gradient");
        for (var e : b.grads().entrySet()) {
            double[] g64 = e.getValue(), g32 = a.grads().get(e.getKey());
            double d2 = 0;
            for (int i = 0; i < g64.length; i++) d2 += (g32[i] - g64[i]) * (g32[i] - g64[i]);
            double diff = Math.sqrt(d2), norm = Math.sqrt(sumSq(g64));
            assertTrue(diff <= RTOL * norm + GLOBAL_ATOL * globalNorm,
                    what + ": gradient of " + e.getKey() + " differs by " + diff + " (norm " + norm + ", model " + globalNorm + ")");
        }
        for (var e : b.buffers().entrySet()) {
            double[] r64 = e.getValue(), r32 = a.buffers().get(e.getKey());
            for (int i = 0; i < r64.length; i++) {
                assertEquals(r64[i], r32[i], 1e-5 * (1 + Math.abs(r64[i])), what + ": buffer " + e.getKey() + "[" + i + "]");
            }
        }
    }

    private static double sumSq(double[] a) {
        double s = 0;
        for (double v : a) s += v * v;
        return s;
    }
}
