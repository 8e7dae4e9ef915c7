package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import optlab.autograd.Variable;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The layers added for the model zoo, against hand-computed values. */
class LayersTest {
    /** x (2, 2, 1, 2): channel 0 holds 1, 2, 3, 4; channel 1 holds 10, 10, 20, 20 (over n, h, w). */
    private static Tensor bnInput() {
        return Tensor.of(new float[] {1, 2, 10, 10, 3, 4, 20, 20}, 2, 2, 1, 2);
    }

    @Test
    void batchNormTrainingUsesBatchStatisticsAndUpdatesTheRunningOnes() {
        BatchNorm2d bn = new BatchNorm2d(2);
        bn.weight.data().copyFrom(Tensor.of(new float[] {2, 1}, 2));
        bn.bias.data().copyFrom(Tensor.of(new float[] {0, 5}, 2));
        try (Scope s = Scope.open()) {
            float[] y = bn.forward(new Variable(bnInput())).data().toFloatArray();
            // channel 0: mean 2.5, biased var 1.25; y = 2 (x - 2.5) / sqrt(1.25 + 1e-5)
            double sd0 = Math.sqrt(1.25 + 1e-5), sd1 = Math.sqrt(25 + 1e-5);
            float[] expected = {(float) (2 * -1.5 / sd0), (float) (2 * -0.5 / sd0), (float) (-5 / sd1 + 5), (float) (-5 / sd1 + 5),
                    (float) (2 * 0.5 / sd0), (float) (2 * 1.5 / sd0), (float) (5 / sd1 + 5), (float) (5 / sd1 + 5)};
            for (int i = 0; i < 8; i++) assertEquals(expected[i], y[i], 1e-5f, "y[" + i + "]");
        }
        // running = 0.9 running + 0.1 batch, with the unbiased variance (m = 4: 1.25 * 4/3, 25 * 4/3)
        assertArrayEquals(new float[] {0.25f, 1.5f}, bn.runningMean().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {0.9f + 0.1f * 5f / 3f, 0.9f + 0.1f * 100f / 3f}, bn.runningVar().toFloatArray(), 1e-5f);
    }

    @Test
    void batchNormInferenceUsesTheRunningStatisticsAndLeavesThemAlone() {
        BatchNorm2d bn = new BatchNorm2d(2, 0.1, 1e-5);
        bn.runningMean().copyFrom(Tensor.of(new float[] {1, 10}, 2));
        bn.runningVar().copyFrom(Tensor.of(new float[] {4, 100}, 2));
        bn.eval();
        try (Scope s = Scope.open()) {
            float[] y = bn.forward(new Variable(bnInput())).data().toFloatArray();
            double sd0 = Math.sqrt(4 + 1e-5), sd1 = Math.sqrt(100 + 1e-5);
            float[] expected = {0, (float) (1 / sd0), 0, 0, (float) (2 / sd0), (float) (3 / sd0), (float) (10 / sd1), (float) (10 / sd1)};
            for (int i = 0; i < 8; i++) assertEquals(expected[i], y[i], 1e-6f, "y[" + i + "]");
        }
        assertArrayEquals(new float[] {1, 10}, bn.runningMean().toFloatArray());
        assertArrayEquals(new float[] {4, 100}, bn.runningVar().toFloatArray());
        assertEquals(List.of("weight", "bias", "running_mean", "running_var"), List.copyOf(bn.namedState().keySet()));
    }

    @Test
    void dropoutScalesKeptValuesInTrainingAndIsTheIdentityInInference() {
        Generator g = new Generator(5);
        Dropout d = new Dropout(0.25, g);
        try (Scope s = Scope.open()) {
            float[] y = d.forward(new Variable(Tensor.ones(100_000))).data().toFloatArray();
            int zeros = 0;
            for (float v : y) {
                if (v == 0) zeros++;
                else assertEquals(1 / 0.75f, v, 1e-6f);
            }
            assertEquals(0.25, zeros / 100_000.0, 0.01); // 4.3 standard deviations
            assertEquals(100_000, g.counter());
            d.eval();
            Tensor x = Tensor.randn(new Generator(1), 10);
            assertArrayEquals(x.toFloatArray(), d.forward(new Variable(x)).data().toFloatArray());
            assertEquals(100_000, g.counter(), "inference drew random numbers");
        }
        assertThrows(IllegalArgumentException.class, () -> new Dropout(1.0, g));
    }

    @Test
    void poolingAndEmbedding() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 1, 1, 4, 4);
            assertArrayEquals(new float[] {3.5f, 5.5f, 11.5f, 13.5f}, new AvgPool2d(2).forward(new Variable(x)).data().toFloatArray());
            Variable g = new GlobalAvgPool2d().forward(new Variable(x));
            assertEquals(Shape.of(1, 1), g.shape());
            assertEquals(8.5f, g.data().toFloatArray()[0]);

            Embedding e = new Embedding(5, 3, new Generator(0));
            Variable rows = e.forward(Tensor.ofInts(new int[] {4, 0, 4}, 1, 3));
            assertEquals(Shape.of(1, 3, 3), rows.shape());
            float[] w = e.weight.data().toFloatArray(), r = rows.data().toFloatArray();
            for (int j = 0; j < 3; j++) {
                assertEquals(w[12 + j], r[j]);
                assertEquals(w[j], r[3 + j]);
                assertEquals(w[12 + j], r[6 + j]);
            }
            var ex = assertThrows(IllegalArgumentException.class, () -> e.forward(Tensor.zeros(2)));
            assertEquals("Embedding(5, 3): indices must be INT32, got FLOAT32", ex.getMessage());
        }
    }

    /**
     * TensorFlow's constant forget bias: the same outputs and weight gradients as a trainable bias that starts at
     * forget_bias in the f block (which is what it adds), and no parameter of its own.
     */
    @Test
    void aConstantForgetBiasIsTheForgetBlockOfABias() {
        Lstm tf = new Lstm(3, 4, 2, false, 1.0, new Generator(5)), shifted = new Lstm(3, 4, 2, false, new Generator(5));
        for (int k = 0; k < 2; k++) {
            try (Tensor f = shifted.biasIh(k).data().narrow(0, 4, 4)) {
                f.addInPlace(Tensor.full(Shape.of(4), 1.0, f.dtype(), f.device()));
            }
        }
        assertEquals(tf.namedParameters().keySet(), shifted.namedParameters().keySet());
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new Generator(6), 5, 2, 3);
            Variable ya = tf.forward(new Variable(x)), yb = shifted.forward(new Variable(x));
            assertArrayEquals(yb.data().toFloatArray(), ya.data().toFloatArray(), 1e-6f);
            ya.sum().backward();
            yb.sum().backward();
            for (String name : tf.namedParameters().keySet()) {
                assertArrayEquals(shifted.namedParameters().get(name).grad().toFloatArray(), tf.namedParameters().get(name).grad().toFloatArray(),
                        1e-6f, name);
            }
        }
        var e = assertThrows(IllegalArgumentException.class, () -> new Lstm(3, 4, 1, true, 1.0, new Generator(1)));
        assertTrue(e.getMessage().contains("single-bias layout"), e.getMessage());
    }

    /** One LSTM step by hand: gates [i | f | g | o] = x W_ih^T + b_ih + h W_hh^T + b_hh. */
    @Test
    void lstmStepMatchesTheEquations() {
        Lstm lstm = new Lstm(2, 1, 1, true, new Generator(3));
        float[] wi = lstm.weightIh(0).data().toFloatArray(), wh = lstm.weightHh(0).data().toFloatArray();
        float[] bi = lstm.biasIh(0).data().toFloatArray(), bh = lstm.biasHh(0).data().toFloatArray();
        float[] x = {0.5f, -1f};
        float h0 = 0.3f, c0 = -0.2f;
        double[] pre = new double[4];
        for (int k = 0; k < 4; k++) pre[k] = wi[2 * k] * x[0] + wi[2 * k + 1] * x[1] + bi[k] + wh[k] * h0 + bh[k];
        double i = sig(pre[0]), f = sig(pre[1]), gg = Math.tanh(pre[2]), o = sig(pre[3]);
        double c = f * c0 + i * gg, h = o * Math.tanh(c);
        try (Scope s = Scope.open()) {
            Lstm.Output out = lstm.forward(new Variable(Tensor.of(x, 1, 1, 2)),
                    new Lstm.State(Tensor.of(new float[] {h0}, 1, 1, 1), Tensor.of(new float[] {c0}, 1, 1, 1)));
            assertEquals(h, out.output().data().toFloatArray()[0], 1e-6);
            assertEquals(h, out.state().h().toFloatArray()[0], 1e-6);
            assertEquals(c, out.state().c().toFloatArray()[0], 1e-6);
        }
        assertEquals(List.of("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), List.copyOf(lstm.namedParameters().keySet()));
        for (float v : wi) assertTrue(Math.abs(v) <= 1f, "PyTorch's U(-1/sqrt(h), 1/sqrt(h)) with h = 1");
    }

    private static double sig(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    @Test
    void namedModulesListsEveryDescendantWithDottedNames() {
        Sequential m = new Sequential(new Linear(2, 2, true, new Generator(0)), new Sequential(new ReLU(), new BatchNorm2d(3)));
        assertEquals(List.of("", "0", "1", "1.0", "1.1"), List.copyOf(m.namedModules().keySet()));
        assertTrue(m.namedModules().get("1.1") instanceof BatchNorm2d);
    }
}
