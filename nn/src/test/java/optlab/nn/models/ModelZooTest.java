package optlab.nn.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.kernels.cpu.CpuBackend;
import optlab.kernels.testkit.LiveBuffers;
import optlab.nn.Dropout;
import optlab.nn.Module;
import optlab.nn.ParameterArena;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The zoo besides the CIFAR ResNets (see {@link CifarResNetTest}): parameter counts against the PyTorch
 * reference models (golden/param_counts.txt, written by golden/param_counts.py) and the published
 * counts, PyTorch names, and a forward and backward pass on a tiny batch.
 */
class ModelZooTest {
    /** Built once: a ResNet-50 draws 2 x 25.6M random numbers. */
    private static ResNet50 resNet50;

    private static synchronized ResNet50 resNet50() {
        if (resNet50 == null) resNet50 = new ResNet50(1000, new Generator(0));
        return resNet50;
    }

    @AfterAll
    static void release() {
        resNet50 = null; // 100 MB of weights; let the rest of the suite have them back
    }

    private static void assertCount(String golden, Module m) {
        assertEquals(Golden.count(golden), m.parameterCount(), golden);
    }

    @Test
    void parameterCountsMatchThePyTorchReferences() {
        assertCount("DenseNetBC-100-k12-bn-c100", new DenseNetBC(100, 12, true, 100, new Generator(0)));
        assertCount("DenseNetBC-100-k12-nobn-c100", new DenseNetBC(100, 12, false, 100, new Generator(0)));
        assertCount("DenseNetBC-100-k12-bn-c10", new DenseNetBC(100, 12, true, 10, new Generator(0)));
        assertCount("ResNet50-c1000", resNet50());
        assertCount("Vgg11-bn-c10", new Vgg11(true, 10, new Generator(0)));
        assertCount("Vgg11-nobn-c10", new Vgg11(false, 10, new Generator(0)));
        assertCount("AllCnnC-c100", new AllCnnC(100, new Generator(0), new Generator(1)));
        assertCount("SimpleCnn", new SimpleCnn(new Generator(0)));
        assertCount("CharLstm-pytorch-v83", new CharLstm(83, 128, 128, 2, 0.8, CharLstm.Layout.PYTORCH, new Generator(0), new Generator(1)));
        assertCount("CharLstm-tf-v83", new CharLstm(83, new Generator(0), new Generator(1)));
    }

    /** The counts the papers publish, rounded as published (PAPERS.md section 2; DeepOBS for All-CNN-C). */
    @Test
    void goldenCountsAgreeWithThePublishedOnes() {
        assertEquals(25.6, Math.round(Golden.count("ResNet50-c1000") / 1e5) / 10.0, 1e-9);
        assertEquals(0.8, Math.round(Golden.count("DenseNetBC-100-k12-bn-c100") / 1e5) / 10.0, 1e-9);
        assertEquals(3.3, Math.round(Golden.count("SimpleCnn") / 1e5) / 10.0, 1e-9);
        assertEquals(1_387_108, Golden.count("AllCnnC-c100")); // DeepOBS's cifar100_allcnnc
    }

    /** State names and their order equal the PyTorch references' state_dict keys (golden/state_names.txt). */
    @Test
    void namesAreThoseOfThePyTorchReferences() {
        assertNames("DenseNetBC-100-k12-bn", new DenseNetBC(100, 12, true, 100, new Generator(0)));
        assertNames("DenseNetBC-100-k12-nobn", new DenseNetBC(100, 12, false, 100, new Generator(0)));
        assertNames("ResNet50", resNet50());
        assertNames("Vgg11-bn", new Vgg11(true, 10, new Generator(0)));
        assertNames("Vgg11-nobn", new Vgg11(false, 10, new Generator(0)));
        assertNames("AllCnnC", new AllCnnC(100, new Generator(0), new Generator(1)));
        assertNames("SimpleCnn", new SimpleCnn(new Generator(0)));
        assertNames("CharLstm-pytorch", new CharLstm(83, 128, 128, 2, 0.8, CharLstm.Layout.PYTORCH, new Generator(0), new Generator(1)));
        // the DeepOBS layout has TensorFlow's single LSTM bias per layer
        List<String> tf = new ArrayList<>(Golden.stateNames("CharLstm-pytorch"));
        tf.removeIf(n -> n.contains("bias_hh"));
        assertEquals(tf, List.copyOf(new CharLstm(83, new Generator(0), new Generator(1)).namedState().keySet()));
    }

    private static void assertNames(String golden, Module m) {
        assertEquals(Golden.stateNames(golden), List.copyOf(m.namedState().keySet()), golden);
    }

    /** Forward and backward on a tiny batch; every parameter receives a non-zero finite gradient. */
    private static void forwardBackward(String what, Module m, Tensor x, int classes) {
        try (ParameterArena arena = ParameterArena.pack(m); Scope s = Scope.open()) {
            Variable logits = m.forward(new Variable(x));
            assertEquals(Shape.of(x.size(0), classes), logits.shape(), what);
            int[] labels = new int[x.size(0)];
            for (int i = 0; i < labels.length; i++) labels[i] = (7 * i + 3) % classes;
            Functional.crossEntropy(logits, Tensor.ofInts(labels, labels.length)).backward();
            for (var e : arena.entries()) {
                double n2 = 0;
                for (float g : e.parameter().grad().toFloatArray()) n2 += (double) g * g;
                assertTrue(n2 > 0 && Double.isFinite(n2), what + ": parameter " + e.name() + " has gradient norm^2 " + n2);
            }
        }
    }

    @Test
    void denseNetForwardAndBackward() {
        // the full DenseNet-BC-100 once (with BN), at 8 x 8; its no-BN variant at reduced depth
        forwardBackward("DenseNet-BC-100", new DenseNetBC(100, 12, true, 100, new Generator(1)), Tensor.randn(new Generator(2), 2, 3, 8, 8), 100);
        forwardBackward("DenseNet-BC-22 without BN", new DenseNetBC(22, 12, false, 10, new Generator(1)), Tensor.randn(new Generator(2), 2, 3, 16, 16), 10);
    }

    @Test
    void resNet50ForwardAndBackwardAt32x32() {
        forwardBackward("ResNet-50", new ResNet50(10, new Generator(1)), Tensor.randn(new Generator(2), 2, 3, 32, 32), 10);
    }

    @Test
    void vggAllCnnAndSimpleCnnForwardAndBackward() {
        forwardBackward("VGG-11", new Vgg11(true, 10, new Generator(1)), Tensor.randn(new Generator(2), 2, 3, 32, 32), 10);
        forwardBackward("VGG-11 without BN", new Vgg11(false, 10, new Generator(1)), Tensor.randn(new Generator(2), 2, 3, 32, 32), 10);
        forwardBackward("All-CNN-C", new AllCnnC(100, new Generator(1), new Generator(3)), Tensor.randn(new Generator(2), 2, 3, 32, 32), 100);
        forwardBackward("SimpleCnn", new SimpleCnn(new Generator(1)), Tensor.rand(new Generator(2), 2, 1, 28, 28), 10);
    }

    @Test
    void charLstmForwardAndBackwardWithState() {
        for (CharLstm.Layout layout : CharLstm.Layout.values()) {
            CharLstm m = new CharLstm(20, 16, 12, 2, 0.8, layout, new Generator(1), new Generator(2));
            try (ParameterArena arena = ParameterArena.pack(m); Scope s = Scope.open()) {
                int[] tok = new int[3 * 5];
                for (int i = 0; i < tok.length; i++) tok[i] = (i * 7) % 20;
                Tensor tokens = Tensor.ofInts(tok, 3, 5);
                CharLstm.Output out = m.forward(tokens, null);
                assertEquals(Shape.of(3, 5, 20), out.logits().shape());
                assertEquals(Shape.of(2, 3, 12), out.state().h().shape());
                CharLstm.Output out2 = m.forward(tokens, out.state());
                CharLstm.loss(out2.logits(), tokens).backward();
                for (var e : arena.entries()) {
                    double n2 = 0;
                    for (float g : e.parameter().grad().toFloatArray()) n2 += (double) g * g;
                    assertTrue(n2 > 0 && Double.isFinite(n2), layout + ": " + e.name() + " has gradient norm^2 " + n2);
                }
            }
        }
    }

    /** A sequence run in one piece equals the same sequence run in two halves with the state carried over. */
    @Test
    void carriedStateContinuesTheSequence() {
        CharLstm m = new CharLstm(11, 8, 6, 2, 0.8, CharLstm.Layout.PYTORCH, new Generator(4), new Generator(5));
        m.eval();
        int[] tok = new int[2 * 10];
        for (int i = 0; i < tok.length; i++) tok[i] = (i * 5 + 1) % 11;
        try (Scope s = Scope.open()) {
            Tensor all = Tensor.ofInts(tok, 2, 10);
            CharLstm.Output whole = m.forward(all, null);
            CharLstm.Output first = m.forward(all.narrow(1, 0, 4).contiguous(), null);
            CharLstm.Output second = m.forward(all.narrow(1, 4, 6).contiguous(), first.state());
            Tensor joined = Tensor.cat(1, first.logits().data(), second.logits().data());
            float[] a = whole.logits().data().toFloatArray(), b = joined.toFloatArray();
            for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-5f, "logit " + i);
            float[] hw = whole.state().h().toFloatArray(), hs = second.state().h().toFloatArray();
            for (int i = 0; i < hw.length; i++) assertEquals(hw[i], hs[i], 1e-5f, "final h " + i);
        }
    }

    @Test
    void inferenceModeDisablesDropoutAndTrainingModeUsesIt() {
        AllCnnC m = new AllCnnC(10, new Generator(1), new Generator(2));
        Generator dropGen = Dropout.generatorOf(m);
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new Generator(3), 2, 3, 32, 32);
            m.eval();
            long before = dropGen.counter();
            float[] e1 = m.forward(new Variable(x)).data().toFloatArray();
            float[] e2 = m.forward(new Variable(x)).data().toFloatArray();
            assertEquals(before, dropGen.counter(), "inference drew dropout masks");
            assertEquals(List.of(boxed(e1)), List.of(boxed(e2)));
            m.train();
            float[] t1 = m.forward(new Variable(x)).data().toFloatArray();
            assertTrue(dropGen.counter() > before, "training drew no dropout masks");
            boolean differs = false;
            for (int i = 0; i < e1.length; i++) differs |= e1[i] != t1[i];
            assertTrue(differs, "training-mode output equals inference-mode output");
        }
        // the generator is shared and replaceable (a restored checkpoint installs its own)
        Generator restored = new Generator(99, 12345);
        assertEquals(3, Dropout.setGenerator(m, restored));
        assertSame(restored, Dropout.generatorOf(m));
        assertNull(Dropout.generatorOf(new CifarResNet(20, true, 10, new Generator(0))));
    }

    private static Float[] boxed(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return b;
    }

    /** Training steps free everything they allocate (NOTE [lifetimes]). */
    @Test
    void noBuffersLeak() throws InterruptedException {
        List<Supplier<Module>> models = List.of(() -> new DenseNetBC(16, 4, true, 10, new Generator(0)),
                () -> new CifarResNet(20, true, 10, new Generator(0)));
        for (Supplier<Module> make : models) {
            Module m = make.get();
            Tensor x = Tensor.randn(new Generator(1), 2, 3, 8, 8);
            Tensor y = Tensor.ofInts(new int[] {1, 2}, 2);
            try (ParameterArena arena = ParameterArena.pack(m)) {
                step(m, x, y);
                long live = LiveBuffers.settled();
                for (int i = 0; i < 3; i++) step(m, x, y);
                m.eval();
                step(m, x, y);
                assertEquals(live, CpuBackend.get().memoryStats().liveBuffers(), m.getClass().getSimpleName() + " leaked buffers");
            }
        }
        CharLstm lm = new CharLstm(9, 8, 8, 2, 0.8, CharLstm.Layout.DEEPOBS, new Generator(0), new Generator(1));
        try (ParameterArena arena = ParameterArena.pack(lm)) {
            Tensor tok = Tensor.ofInts(new int[] {1, 2, 3, 4, 5, 6}, 2, 3);
            var state = lm.zeroState(2);
            long live = LiveBuffers.settled();
            for (int i = 0; i < 3; i++) {
                try (Scope s = Scope.open()) {
                    CharLstm.Output out = lm.forward(tok, state);
                    CharLstm.loss(out.logits(), tok).backward();
                    state.close();
                    state = out.state().escape();
                }
            }
            state.close();
            assertEquals(live - 2, CpuBackend.get().memoryStats().liveBuffers(), "CharLstm leaked buffers");
        }
    }

    private static void step(Module m, Tensor x, Tensor y) {
        try (Scope s = Scope.open()) {
            Functional.crossEntropy(m.forward(new Variable(x)), y).backward();
        }
    }

    @Test
    void badShapesAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> new DenseNetBC(99, 12, true, 100, new Generator(0)));
        assertTrue(e.getMessage().contains("got 99"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Vgg11(true, 10, new Generator(0)).forward(new Variable(Tensor.zeros(1, 3, 28, 28))));
        assertEquals("Vgg11: expects images of shape (n, 3, 32, 32), got [1, 3, 28, 28]", e.getMessage());
        CharLstm lm = new CharLstm(9, 8, 8, 2, 0.8, CharLstm.Layout.DEEPOBS, new Generator(0), new Generator(1));
        e = assertThrows(IllegalArgumentException.class, () -> lm.forward(Tensor.zeros(2, 3), null));
        assertEquals("CharLstm: expects INT32 tokens of shape (n, t), got FLOAT32 [2, 3]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> lm.forward(Tensor.ofInts(new int[] {1, 2}, 1, 2), lm.zeroState(3)));
        assertTrue(e.getMessage().contains("state of shape [2, 3, 8] for a batch of 1"), e.getMessage());
    }
}
