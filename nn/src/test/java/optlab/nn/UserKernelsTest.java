package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;
import optlab.kernels.reference.ReferenceKernels;
import optlab.nn.models.CharLstm;
import optlab.nn.models.CifarResNet;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 14's first "done when", on the CPU: for every op family, a user's Java kernel (here {@link ReferenceKernels}:
 * the plain reference in double, a genuinely different implementation) runs in a model's training step in place of
 * the built-in one and gives the same loss and gradients within float32 rounding; and the backend's call counts
 * (what a run records) show that the user kernel served every call of its op and the built-in one none.
 */
class UserKernelsTest {
    /** Float32 kernels against a double reference: the step's loss and gradients agree to this, relative to their norm. */
    private static final double TOLERANCE = 1e-4;

    @AfterEach
    void restore() {
        Backends.open(Device.CPU, KernelChoices.defaults());
    }

    /** A small CNN with every image-model family: conv2d, batchnorm, relu, add (biases), pool2d, gemm, the loss. */
    static Module cnn(Device device) {
        Generator g = new Generator(7);
        return new Sequential(new Conv2d(3, 4, 3, 1, 1, true, g), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2, 2, 0),
                new Conv2d(4, 4, 3, 1, 1, true, g), new ReLU(), new AvgPool2d(2), new Flatten(), new Linear(4 * 2 * 2, 5, true, g))
                .to(device);
    }

    /** The CNN's loss on a fixed batch, on the model's device. */
    static Variable cnnLoss(Module m) {
        Variable x = new Variable(Tensor.randn(new Generator(8), 3, 3, 8, 8).to(m.device()));
        return Functional.crossEntropy(m.forward(x), Tensor.ofInts(new int[] {0, 4, 2}, 3).to(m.device()));
    }

    /** A ResNet-8 with batch norm: every bn -> ReLU and bn + shortcut -> ReLU is one fused batch-norm call. */
    static Module resnet(Device device) {
        return new CifarResNet(8, true, 5, new Generator(11)).to(device);
    }

    /** The ResNet's loss on a fixed batch of 8 x 8 images. */
    static Variable resnetLoss(Module m) {
        Variable x = new Variable(Tensor.randn(new Generator(12), 3, 3, 8, 8).to(m.device()));
        return Functional.crossEntropy(m.forward(x), Tensor.ofInts(new int[] {0, 4, 2}, 3).to(m.device()));
    }

    /** A char LSTM: embedding, lstm, gemm, the loss. */
    static Module charLstm(Device device) {
        return new CharLstm(11, 6, 5, 2, 1.0, CharLstm.Layout.PYTORCH, new Generator(9), new Generator(10)).to(device);
    }

    /** The char LSTM's loss on a fixed sequence, on the model's device. */
    static Variable lstmLoss(Module m) {
        int[] tokens = {1, 3, 3, 10, 0, 3, 7, 7, 2, 5, 3, 1};
        int[] targets = {3, 3, 10, 0, 3, 7, 7, 2, 5, 3, 1, 4};
        Variable logits = m.forward(new Variable(Tensor.ofInts(tokens, 2, 6).to(m.device())));
        return Functional.crossEntropy(logits.reshape(12, 11), Tensor.ofInts(targets, 12).to(m.device()));
    }

    /** The loss and every parameter's gradient after one forward and backward of {@code loss} on a fresh model. */
    static Map<String, float[]> step(java.util.function.Supplier<Module> model, Function<Module, Variable> loss) {
        Module m = model.get();
        Map<String, float[]> out = new LinkedHashMap<>();
        try (ParameterArena arena = ParameterArena.pack(m); Scope s = Scope.open()) {
            Variable l = loss.apply(m);
            out.put("loss", l.data().toFloatArray());
            l.backward();
            m.namedParameters().forEach((name, p) -> out.put(name, p.grad().toFloatArray()));
        }
        return out;
    }

    /** Each of {@code actual}'s loss and gradients within {@link #TOLERANCE} of {@code expected}'s norm. */
    static void assertClose(String op, Map<String, float[]> expected, Map<String, float[]> actual) {
        for (String k : expected.keySet()) {
            float[] e = expected.get(k), a = actual.get(k);
            double diff = 0, norm = 0;
            for (int i = 0; i < e.length; i++) {
                diff += (a[i] - (double) e[i]) * (a[i] - (double) e[i]);
                norm += (double) e[i] * e[i];
            }
            assertTrue(Math.sqrt(diff) <= TOLERANCE * Math.max(Math.sqrt(norm), 1e-3),
                    op + ": " + k + " differs by " + Math.sqrt(diff) + " (norm " + Math.sqrt(norm) + ")");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "gemm, Gemm, cnn",
        "conv2d, Conv2d, cnn",
        "pool2d, Pool2d, cnn",
        "batchnorm, BatchNorm, cnn",
        "softmax_cross_entropy, SoftmaxCrossEntropy, cnn",
        "unary.relu, Unary, cnn",
        "binary.add, Binary, cnn",
        "lstm, Lstm, lstm",
        "embedding, Embedding, lstm",
    })
    void aJavaKernelRunsInATrainingStepAndMatchesTheBuiltInOne(String op, String kernel, String model) {
        java.util.function.Supplier<Module> make = model.equals("cnn") ? () -> cnn(Device.CPU) : () -> charLstm(Device.CPU);
        Function<Module, Variable> loss = model.equals("cnn") ? UserKernelsTest::cnnLoss : UserKernelsTest::lstmLoss;

        Backend builtIn = Backends.open(Device.CPU, KernelChoices.defaults());
        builtIn.kernelCalls().reset();
        Map<String, float[]> expected = step(make, loss);
        String builtInVariant = KernelChoices.defaults().choice(op, KernelChoices.Target.CPU).toString();
        long builtInCalls = builtIn.kernelCalls().snapshot().getOrDefault(builtInVariant, 0L);
        assertTrue(builtInCalls > 0, op + ": the model step must use the op (" + builtIn.kernelCalls().snapshot() + ")");

        String spec = op + "=java:" + ReferenceKernels.class.getName() + "." + kernel; // the dotted spelling of ...$Kernel
        Backend user = Backends.open(Device.CPU, KernelChoices.parse(spec));
        Map<String, float[]> actual = step(make, loss);
        Map<String, Long> calls = user.kernelCalls().snapshot();
        String userVariant = user.kernels().choice(op, KernelChoices.Target.CPU).toString();
        assertEquals(op + "=java:" + ReferenceKernels.class.getName() + "$" + kernel, userVariant);
        // a unary user kernel also serves its backward (NOTE [user-kernel-gradients]), which the built-in op runs as other ops
        long expectedCalls = op.startsWith("unary.") ? 2 * builtInCalls : builtInCalls;
        assertEquals(expectedCalls, calls.getOrDefault(userVariant, 0L), op + ": the user kernel serves every call the built-in one did: " + calls);
        assertTrue(!calls.containsKey(builtInVariant), op + ": the built-in kernel served no call: " + calls);
        assertClose(op, expected, actual);
    }

    /**
     * Batch norm's fused epilogue (Backend's NOTE [bn-epilogue]) hides no user kernel: with one chosen for batchnorm
     * (the plain batch norm; the backend runs the add and the ReLU around it) or for an op the epilogue fuses (the graph
     * then runs batch norm, add and ReLU as separate ops), the user kernel serves calls in a ResNet's step (the built-in
     * step makes no relu call: they are all fused) and the loss and gradients match the built-in step's.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"batchnorm, BatchNorm", "unary.relu, Unary", "binary.add, Binary", "binary.relu_backward, Binary"})
    void aUserKernelForAnOpTheBatchNormEpilogueFusesStillServesIt(String op, String kernel) {
        Backend builtIn = Backends.open(Device.CPU, KernelChoices.defaults());
        builtIn.kernelCalls().reset();
        Map<String, float[]> expected = step(() -> resnet(Device.CPU), UserKernelsTest::resnetLoss);
        if (op.contains("relu")) {
            String variant = KernelChoices.defaults().choice(op, KernelChoices.Target.CPU).toString();
            assertEquals(0L, builtIn.kernelCalls().snapshot().getOrDefault(variant, 0L), op + ": the built-in step fuses every ReLU");
        }
        Backend user = Backends.open(Device.CPU, KernelChoices.parse(op + "=java:" + ReferenceKernels.class.getName() + "." + kernel));
        Map<String, float[]> actual = step(() -> resnet(Device.CPU), UserKernelsTest::resnetLoss);
        String userVariant = user.kernels().choice(op, KernelChoices.Target.CPU).toString();
        assertTrue(user.kernelCalls().snapshot().getOrDefault(userVariant, 0L) > 0, op + ": " + user.kernelCalls().snapshot());
        assertClose(op, expected, actual);
    }

    @Test
    void aForwardOnlyKernelIsRefusedInAGraphThatNeedsItsGradient() {
        Backends.open(Device.CPU, KernelChoices.parse("conv2d=java:" + ReferenceKernels.Conv2d.class.getName() + ":forward-only"));
        Module m = cnn(Device.CPU);
        try (Scope s = Scope.open()) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> cnnLoss(m));
            assertTrue(e.getMessage().startsWith("op conv2d on cpu runs user kernel java:") && e.getMessage().contains("forward-only"),
                    e.getMessage());
            try (var off = optlab.autograd.Grad.disabled()) {
                assertEquals(1, cnnLoss(m).data().numel(), "under no-grad it runs");
            }
        }
    }

    /**
     * The reference as a device in its own right (issue 14 point 6): the same CNN and char-LSTM training steps, placed on
     * {@link Device#REFERENCE} with {@code Module.to}, give the CPU's loss and gradients within float32 rounding, and every
     * primitive call is counted under the reference variant; the reference device refuses kernel choices.
     */
    @Test
    void theReferenceDeviceRunsATrainingStepAndMatchesTheCpu() {
        Backend ref = Backends.of(Device.REFERENCE);
        assertEquals(Device.REFERENCE, ref.device());
        assertEquals(Device.REFERENCE, Device.parse("reference"));
        ref.kernelCalls().reset();
        assertClose("reference cnn", step(() -> cnn(Device.CPU), UserKernelsTest::cnnLoss),
                step(() -> cnn(Device.REFERENCE), UserKernelsTest::cnnLoss));
        assertClose("reference lstm", step(() -> charLstm(Device.CPU), UserKernelsTest::lstmLoss),
                step(() -> charLstm(Device.REFERENCE), UserKernelsTest::lstmLoss));
        Map<String, Long> calls = ref.kernelCalls().snapshot();
        for (String op : new String[] {"gemm", "conv2d", "pool2d", "batchnorm", "softmax_cross_entropy", "lstm", "embedding"}) {
            assertTrue(calls.getOrDefault(op + "=reference", 0L) > 0, op + " ran on the reference: " + calls);
        }
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Backends.open(Device.REFERENCE, KernelChoices.parse("conv2d=java:" + ReferenceKernels.Conv2d.class.getName())));
        assertTrue(e.getMessage().startsWith("the reference device runs the reference only"), e.getMessage());
    }
}
