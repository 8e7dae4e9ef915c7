package optlab.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.kernels.Conv2dGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.family.Conv2dKernel;
import optlab.kernels.family.HostArrays;
import optlab.kernels.reference.ReferenceKernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 14's "bin/optlab kernels check passes a correct user kernel and fails a deliberately wrong one, naming the
 * worst element": every family's {@link ReferenceKernels} entry passes; a convolution that is off in one element of
 * its filter gradient fails, and the verdict names that output, its index and both values.
 */
class KernelsCommandTest {
    private record Out(int code, String out) {}

    private static Out run(String... args) {
        CliRun r = CliRun.of(new OptLab(), args);
        return new Out(r.code(), r.out() + r.err());
    }

    /** The reference convolution with dw[1] off by 0.01: small enough to go unnoticed in a training run. */
    public static final class OffByOneElement implements Conv2dKernel {
        private final ReferenceKernels.Conv2d ref = new ReferenceKernels.Conv2d();

        @Override
        public void forward(Conv2dGeometry g, Ptr x, Ptr w, Ptr y) {
            ref.forward(g, x, w, y);
        }

        @Override
        public void backwardData(Conv2dGeometry g, Ptr dy, Ptr w, Ptr dx) {
            ref.backwardData(g, dy, w, dx);
        }

        @Override
        public void backwardFilter(Conv2dGeometry g, Ptr x, Ptr dy, Ptr dw) {
            ref.backwardFilter(g, x, dy, dw);
            HostArrays.f32(dw)[dw.offset() + 1] += 0.01f;
        }
    }

    /**
     * SGD's fused step written out by hand from its formula (Sgd's class comment, WeightDecay's table): scalars (lr, mode,
     * l2, factor); u = lr (g + l2 x) under L2, lr g otherwise; x - u, x factor - u (decoupled) or (x - u) / factor
     * (proximal). A second implementation, not a call of the built-in one.
     */
    public static final class HandWrittenSgd implements optlab.kernels.FusedKernel {
        @Override
        public String name() {
            return "sgd_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] s, int from, int to) {
            float[] x = ops.f32(0), g = ops.f32(1);
            int xo = ops.offset(0), go = ops.offset(1), mode = (int) s[1];
            float lr = (float) s[0], l2 = (float) s[2], factor = (float) s[3];
            for (int i = from; i < to; i++) {
                float xi = x[xo + i], u = lr * (mode == 1 ? g[go + i] + l2 * xi : g[go + i]);
                x[xo + i] = mode == 2 ? xi * factor - u : mode == 3 ? (xi - u) / factor : xi - u;
            }
        }
    }

    /** Adam's built-in step with the step size halved (scalar 0): a plausible bug. */
    public static final class HalfStepAdam implements optlab.kernels.FusedKernel {
        private final optlab.kernels.FusedKernel adam = optlab.kernels.KernelChoices.fusedKernel("adam_f32");

        @Override
        public String name() {
            return "adam_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] s, int from, int to) {
            double[] half = s.clone();
            half[0] /= 2;
            adam.runHost(ops, half, from, to);
        }
    }

    @Test
    void aFusedKernelIsCheckedAgainstTheBuiltInOneOnEveryOperand() {
        Out ok = run("kernels", "check", "fused.sgd_f32=java:" + HandWrittenSgd.class.getName());
        assertEquals(0, ok.code(), ok.out());
        assertTrue(ok.out().contains("ok   fused.sgd_f32 x (n 1031") && ok.out().contains("ok   fused.sgd_f32 g (n 7"), ok.out());
        assertTrue(ok.out().contains("PASS fused.sgd_f32=java:"), ok.out());

        Out bad = run("kernels", "check", "fused.adam_f32=java:" + HalfStepAdam.class.getName());
        assertEquals(1, bad.code(), bad.out());
        assertTrue(bad.out().contains("FAIL fused.adam_f32 x (n 1031"), bad.out());
        assertTrue(bad.out().contains("ok   fused.adam_f32 m (n 7") && bad.out().contains("ok   fused.adam_f32 g (n 7"),
                "only the parameters differ: " + bad.out());
        assertTrue(bad.out().matches("(?s).*worst fused\\.adam_f32 x .*\\[\\d+\\] = \\S+, reference \\S+ .*"), bad.out());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"gemm, Gemm", "conv2d, Conv2d", "pool2d, Pool2d", "batchnorm, BatchNorm", "softmax_cross_entropy, SoftmaxCrossEntropy",
        "lstm, Lstm", "embedding, Embedding", "unary.tanh, Unary", "binary.mul, Binary"})
    void aCorrectKernelOfEveryFamilyPasses(String op, String kernel) {
        Out o = run("kernels", "check", op + "=java:" + ReferenceKernels.class.getName() + "$" + kernel);
        assertEquals(0, o.code(), o.out());
        assertTrue(o.out().contains("PASS " + op + "=java:"), o.out());
        assertTrue(!o.out().contains("FAIL"), o.out());
    }

    @Test
    void aDeliberatelyWrongKernelFailsNamingTheWorstElement() {
        Out o = run("kernels", "check", "conv2d=java:" + OffByOneElement.class.getName());
        assertEquals(1, o.code(), o.out());
        assertTrue(o.out().contains("ok   conv2d forward y"), o.out());
        assertTrue(o.out().contains("FAIL conv2d backwardFilter dw"), o.out());
        assertTrue(o.out().contains("FAIL conv2d=java:" + OffByOneElement.class.getName()), o.out());
        assertTrue(o.out().matches("(?s).*worst conv2d backwardFilter dw .*\\[1\\] = \\S+, reference \\S+ .*"), o.out());
    }

    @Test
    void aForwardOnlyKernelIsCheckedForwardAndSaysSo() {
        Out o = run("kernels", "check", "conv2d=java:" + ReferenceKernels.Conv2d.class.getName() + ":forward-only");
        assertEquals(0, o.code(), o.out());
        assertTrue(o.out().contains("declared forward-only: its backward was not checked") && !o.out().contains("backwardFilter"), o.out());
    }

    @Test
    void aBadSpecIsACommandLineError() {
        Out o = run("kernels", "check", "conv2d=java:no.such.Kernel");
        assertEquals(2, o.code(), o.out());
        assertTrue(o.out().contains("cannot load class 'no.such.Kernel'"), o.out());
    }

    @Test
    void theTableListsEveryFamily() {
        Out o = run("kernels");
        assertEquals(0, o.code(), o.out());
        for (String op : new String[] {"gemm", "conv2d", "pool2d", "batchnorm", "softmax_cross_entropy", "lstm", "embedding", "unary.<op>",
            "binary.<op>", "fused.<kernel>"}) {
            assertTrue(o.out().contains(op), op + " in:\n" + o.out());
        }
    }
}
