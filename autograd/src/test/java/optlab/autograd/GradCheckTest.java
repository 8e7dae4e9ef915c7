package optlab.autograd;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.autograd.functions.CrossEntropy.Reduction;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.RandomDistribution;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every differentiable function, gradient-checked in double precision (central differences, see
 * {@link GradCheck}). Inputs are small and seeded; where a function has a kink (ReLU, max pool), inputs
 * are kept away from it so the finite difference does not straddle it.
 */
class GradCheckTest {
    private final Generator gen = new Generator(2024);

    private Tensor randn(int... shape) {
        return Tensor.random(RandomDistribution.NORMAL, 0, 1, gen, Shape.of(shape), DType.FLOAT64, Device.CPU);
    }

    private Tensor uniform(double lo, double hi, int... shape) {
        return Tensor.random(RandomDistribution.UNIFORM, lo, hi, gen, Shape.of(shape), DType.FLOAT64, Device.CPU);
    }

    /** Normal values pushed at least 0.1 away from zero (for kinks at zero). */
    private Tensor awayFromZero(int... shape) {
        double[] v = randn(shape).toDoubleArray();
        for (int i = 0; i < v.length; i++) v[i] += v[i] >= 0 ? 0.1 : -0.1;
        return Tensor.of(v, shape);
    }

    /** Distinct values (a shuffled ramp plus noise): no ties for max pooling. */
    private Tensor distinct(int... shape) {
        int n = Shape.of(shape).numel();
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = ((i * 7919L) % n) * 0.1;
        return Tensor.of(v, shape);
    }

    private static Tensor labels(int n, int classes) {
        int[] l = new int[n];
        for (int i = 0; i < n; i++) l[i] = (3 * i + 1) % classes;
        return Tensor.ofInts(l, n);
    }

    @Test
    void broadcastingArithmetic() {
        GradCheck.check("add", v -> v[0].add(v[1]), randn(2, 3), randn(3));
        GradCheck.check("sub", v -> v[0].sub(v[1]), randn(2, 3), randn(2, 1));
        GradCheck.check("mul", v -> v[0].mul(v[1]), randn(2, 3), randn(1, 3));
        GradCheck.check("div", v -> v[0].div(v[1]), randn(2, 3), uniform(0.5, 2, 2, 1));
        GradCheck.check("affine", v -> v[0].affine(-1.5, 0.25), randn(4));
    }

    @Test
    void unaryFunctions() {
        GradCheck.check("square", v -> v[0].square(), randn(5));
        GradCheck.check("pow 1.5", v -> v[0].pow(1.5), uniform(0.5, 2, 5));
        GradCheck.check("exp", v -> v[0].exp(), randn(5));
        GradCheck.check("log", v -> v[0].log(), uniform(0.5, 2, 5));
        GradCheck.check("sqrt", v -> v[0].sqrt(), uniform(0.5, 2, 5));
        GradCheck.check("relu", v -> v[0].relu(), awayFromZero(7));
        GradCheck.check("tanh", v -> v[0].tanh(), randn(5));
        GradCheck.check("sigmoid", v -> v[0].sigmoid(), randn(5));
    }

    @Test
    void matrixProducts() {
        GradCheck.check("matmul", v -> v[0].matmul(v[1]), randn(3, 4), randn(4, 2));
        GradCheck.check("matmul transposed", v -> v[0].matmul(v[1].t()), randn(3, 4), randn(2, 4));
        GradCheck.check("batched matmul", v -> v[0].matmul(v[1]), randn(2, 3, 4), randn(2, 4, 2));
        GradCheck.check("linear", v -> Functional.linear(v[0], v[1], v[2]), randn(3, 4), randn(5, 4), randn(5));
        GradCheck.check("linear without bias", v -> Functional.linear(v[0], v[1], null), randn(3, 4), randn(5, 4));
    }

    @Test
    void reductionsAndIndexing() {
        GradCheck.check("sum all", v -> v[0].sum(), randn(2, 3));
        GradCheck.check("sum dims 0,2", v -> v[0].sum(new int[] {0, 2}, false), randn(2, 3, 4));
        GradCheck.check("mean keepdim", v -> v[0].mean(new int[] {1}, true), randn(2, 3, 4));
        GradCheck.check("reshape", v -> v[0].reshape(3, 4).mul(v[1]), randn(2, 6), randn(3, 4));
        GradCheck.check("permute", v -> v[0].permute(2, 0, 1).mul(v[1]), randn(2, 3, 4), randn(4, 2, 3));
        GradCheck.check("slice with step", v -> v[0].slice(1, 1, 6, 2), randn(2, 7));
        GradCheck.check("select", v -> v[0].select(1, 2), randn(2, 3, 2));
        GradCheck.check("cat", v -> Variable.cat(1, v[0], v[1]).mul(v[2]), randn(2, 1, 3), randn(2, 2, 3), randn(2, 3, 3));
        GradCheck.check("global avg pool", v -> Functional.globalAvgPool2d(v[0]), randn(2, 3, 4, 5));
    }

    @Test
    void convolutions() {
        GradCheck.check("conv2d 3x3 pad 1 with bias", v -> Functional.conv2d(v[0], v[1], v[2], 1, 1), randn(2, 2, 5, 4), randn(3, 2, 3, 3), randn(3));
        GradCheck.check("conv2d stride 2", v -> Functional.conv2d(v[0], v[1], null, 2, 1), randn(1, 3, 6, 5), randn(2, 3, 3, 3));
        GradCheck.check("conv2d 1x1", v -> Functional.conv2d(v[0], v[1], null, 1, 0), randn(2, 3, 3, 2), randn(4, 3, 1, 1));
    }

    @Test
    void pooling() {
        GradCheck.check("max pool 2x2", v -> Functional.maxPool2d(v[0], 2, 2, 0), distinct(2, 2, 4, 6));
        GradCheck.check("max pool 3x3 s2 p1", v -> Functional.maxPool2d(v[0], 3, 2, 1), distinct(1, 2, 5, 5));
        GradCheck.check("avg pool count pad", v -> Functional.avgPool2d(v[0], 3, 2, 1, true), randn(1, 2, 5, 5));
        GradCheck.check("avg pool exclude pad", v -> Functional.avgPool2d(v[0], 3, 2, 1, false), randn(1, 2, 5, 5));
    }

    @Test
    void batchNorm() {
        Tensor rm = Tensor.zeros(Shape.of(3), DType.FLOAT64, Device.CPU), rv = Tensor.full(Shape.of(3), 1, DType.FLOAT64, Device.CPU);
        GradCheck.check("batch norm training", v -> Functional.batchNorm(v[0], v[1], v[2], rm, rv, true, 0.1, 1e-5),
                randn(4, 3, 2, 2), uniform(0.5, 1.5, 3), randn(3));
        Tensor rm2 = randn(3), rv2 = uniform(0.5, 2, 3);
        GradCheck.check("batch norm inference", v -> Functional.batchNorm(v[0], v[1], v[2], rm2, rv2, false, 0.1, 1e-5),
                randn(4, 3, 2, 2), uniform(0.5, 1.5, 3), randn(3));
        GradCheck.check("batch norm training 2-D input", v -> Functional.batchNorm(v[0], v[1], v[2], null, null, true, 0.1, 1e-5),
                randn(5, 3), uniform(0.5, 1.5, 3), randn(3));
    }

    /**
     * Batch norm with its fused epilogue, act(bn(x) + z), in training and inference mode, for each form: ReLU only,
     * add and ReLU, add only. The seed's pre-activations are checked to lie away from ReLU's kink.
     */
    @Test
    void batchNormWithEpilogue() {
        boolean[][] forms = {{false, true}, {true, true}, {true, false}};
        for (boolean training : new boolean[] {true, false}) {
            for (boolean[] form : forms) {
                boolean add = form[0], relu = form[1];
                Tensor x = randn(4, 3, 2, 2), gamma = uniform(0.5, 1.5, 3), beta = randn(3), z = randn(4, 3, 2, 2);
                Tensor rm = randn(3), rv = uniform(0.5, 2, 3);
                double momentum = 0; // the running statistics stay put across the check's evaluations
                try (Scope s = Scope.open(); var off = Grad.disabled()) {
                    double[] pre = Functional.batchNorm(new Variable(x), new Variable(gamma), new Variable(beta), rm, rv, training, momentum, 1e-5)
                            .add(new Variable(z)).data().toDoubleArray();
                    for (double v : pre) assertTrue(Math.abs(v) > 1e-3, "pre-activation " + v + " too near ReLU's kink for the check");
                }
                String what = "batch norm " + (training ? "training" : "inference") + (add ? " + z" : "") + (relu ? " -> relu" : "");
                if (add) {
                    GradCheck.check(what, v -> Functional.batchNorm(v[0], v[1], v[2], rm, rv, training, momentum, 1e-5, v[3], relu), x, gamma, beta, z);
                } else {
                    GradCheck.check(what, v -> Functional.batchNorm(v[0], v[1], v[2], rm, rv, training, momentum, 1e-5, null, relu), x, gamma, beta);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Reduction.class)
    void crossEntropy(Reduction reduction) {
        Tensor labels = labels(4, 5);
        GradCheck.check("cross entropy " + reduction, v -> Functional.crossEntropy(v[0], labels, 0.0, reduction), randn(4, 5));
        GradCheck.check("cross entropy smoothed " + reduction, v -> Functional.crossEntropy(v[0], labels, 0.1, reduction), randn(4, 5));
    }

    @Test
    void dropoutEmbeddingLstm() {
        GradCheck.check("dropout", v -> optlab.autograd.functions.Dropout.apply(v[0], 0.3, 7L, 100L), randn(3, 5));
        Tensor idx = Tensor.ofInts(new int[] {2, 0, 2, 3, 1, 2}, 2, 3);
        GradCheck.check("embedding", v -> Functional.embedding(idx, v[0]), randn(4, 3));
        GradCheck.check("lstm cell", v -> Functional.lstmCell(v[0], v[1]), randn(3, 8), randn(3, 2));
        GradCheck.check("lstm h only", v -> Functional.lstmCell(v[0], v[1]).select(0, 0), randn(2, 12), randn(2, 3));
    }

    /** One LSTM layer as one node: x (t, n, in), h0, c0, wIh (4h, in), wHh (4h, h), bIh, bHh; here t=3, n=2, in=3, h=2. */
    @Test
    void lstmSequence() {
        GradCheck.check("lstm sequence, every input", v -> Functional.lstmSequence(v[0], v[1], v[2], v[3], v[4], v[5], v[6]),
                randn(3, 2, 3), randn(2, 2), randn(2, 2), randn(8, 3), randn(8, 2), randn(8), randn(8));
        GradCheck.check("lstm sequence, zero state, one bias", v -> Functional.lstmSequence(v[0], null, null, v[1], v[2], v[3], null),
                randn(3, 2, 3), randn(8, 3), randn(8, 2), randn(8));
        GradCheck.check("lstm sequence, one step, no bias", v -> Functional.lstmSequence(v[0], v[1], v[2], v[3], v[4], null, null),
                randn(1, 2, 3), randn(2, 2), randn(2, 2), randn(8, 3), randn(8, 2));
        // the final h (yc[t-1]) and c (yc[t]) reached through selects, as nn.Lstm hands them on: the gradient of
        // h_T adds to that step's dy; both biases get the gradient of their sum
        GradCheck.check("lstm sequence, final state only", v -> {
            Variable yc = Functional.lstmSequence(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
            return yc.select(0, 2).mul(yc.select(0, 3));
        }, randn(3, 2, 3), randn(2, 2), randn(2, 2), randn(8, 3), randn(8, 2), randn(8), randn(8));
    }

    @Test
    void aSmallNetworkEndToEnd() {
        Tensor labels = labels(3, 4);
        GradCheck.check("conv-relu-pool-linear-ce", v -> {
            Variable h = Functional.conv2d(v[0], v[1], v[2], 1, 1).relu();
            h = Functional.maxPool2d(h, 2, 2, 0).flatten(1, 3);
            return Functional.crossEntropy(Functional.linear(h, v[3], v[4]), labels);
        }, randn(3, 1, 4, 4), randn(2, 1, 3, 3), randn(2), randn(4, 8), randn(4));
    }

    /** y = x^2 with a deliberately wrong backward (3x instead of 2x): the checker must fail. */
    static final class WrongSquare extends Function {
        private Tensor x;

        static Variable apply(Variable x) {
            WrongSquare f = new WrongSquare();
            f.x = x.data();
            return f.output(x.data().square(), x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            try (Tensor d = x.mul(3)) {
                return new Tensor[] {dy.mul(d)};
            }
        }
    }

    @Test
    void theCheckerCatchesAWrongBackward() {
        var e = assertThrows(AssertionError.class, () -> GradCheck.check("wrong square", v -> WrongSquare.apply(v[0]), randn(6)));
        assertTrue(e.getMessage().startsWith("wrong square: d/d(input 0): 6 of 6 elements differ"), e.getMessage());
    }
}
