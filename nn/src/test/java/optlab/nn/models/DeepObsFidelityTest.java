package optlab.nn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.autograd.Functional;
import optlab.autograd.Grad;
import optlab.autograd.Variable;
import optlab.nn.Init;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The details of the DeepOBS models that were checked against DeepOBS's TensorFlow code on 2026-11-21
 * (docs/MODELS.md, "Fidelity to the original code"): TensorFlow's "same" padding at stride 2 and the
 * truncated Glorot normal of {@code cifar100_allcnnc}, and the initializers of {@code tolstoi_char_rnn}.
 */
class DeepObsFidelityTest {
    private static double std(float[] v) {
        double s = 0, sq = 0;
        for (float x : v) s += x;
        double mean = s / v.length;
        for (float x : v) sq += (x - mean) * (x - mean);
        return Math.sqrt(sq / v.length);
    }

    private static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }

    /** TensorFlow's "same" at stride 2 on an even size: the first window starts at row 0, the last reads one zero row. */
    @Test
    void tfSamePaddingAtStride2IsTensorFlows() {
        try (Scope s = Scope.open(); Grad.Mode off = Grad.disabled()) {
            int n = 2, c = 3, k = 5, h = 8;
            Tensor xt = Tensor.randn(new Generator(1), n, c, h, h);
            Variable x = new Variable(xt), w = new Variable(Tensor.randn(new Generator(2), k, c, 3, 3)),
                    b = new Variable(Tensor.randn(new Generator(3), k));
            Variable padded = AllCnnC.tfSamePad(x, 3, 2);
            assertEquals(Shape.of(n, c, h + 1, h + 1), padded.shape());
            Variable tf = Functional.conv2d(padded, w, b, 2, 0);
            assertEquals(Shape.of(n, k, h / 2, h / 2), tf.shape());
            // by hand: output (i, j) of TensorFlow's "same" reads rows 2i .. 2i+2 and columns 2j .. 2j+2, zero beyond h - 1
            float[] xs = xt.toFloatArray(), ws = w.data().toFloatArray(), bs = b.data().toFloatArray(), out = tf.data().toFloatArray();
            for (int img = 0; img < n; img++) {
                for (int o = 0; o < k; o++) {
                    for (int i = 0; i < h / 2; i++) {
                        for (int j = 0; j < h / 2; j++) {
                            double acc = bs[o];
                            for (int ci = 0; ci < c; ci++) {
                                for (int a = 0; a < 3; a++) {
                                    for (int bb = 0; bb < 3; bb++) {
                                        int r = 2 * i + a, q = 2 * j + bb;
                                        if (r < h && q < h) acc += ws[((o * c + ci) * 3 + a) * 3 + bb] * xs[((img * c + ci) * h + r) * h + q];
                                    }
                                }
                            }
                            assertEquals(acc, out[((img * k + o) * (h / 2) + i) * (h / 2) + j], 1e-4, "output " + img + "," + o + "," + i + "," + j);
                        }
                    }
                }
            }
            // the same as the odd positions of the stride-1 "same" convolution, and not PyTorch's padding=1 at stride 2
            Variable odd = Functional.conv2d(x, w, b, 1, 1).slice(2, 1, h, 2).slice(3, 1, h, 2);
            assertArrayEquals(odd.data().contiguous().toFloatArray(), out, 1e-5f);
            float[] torch = Functional.conv2d(x, w, b, 2, 1).data().toFloatArray();
            boolean differs = false;
            for (int i = 0; i < out.length; i++) differs |= Math.abs(out[i] - torch[i]) > 1e-3;
            assertTrue(differs, "TensorFlow's same padding gave PyTorch's padding=1 result");
            // an odd size pads one row on each side: PyTorch's padding=1
            Variable x7 = new Variable(Tensor.randn(new Generator(4), 1, c, 7, 7));
            Variable p7 = AllCnnC.tfSamePad(x7, 3, 2);
            assertEquals(Shape.of(1, c, 9, 9), p7.shape());
            assertArrayEquals(Functional.conv2d(x7, w, b, 2, 1).data().toFloatArray(),
                    Functional.conv2d(p7, w, b, 2, 0).data().toFloatArray(), 1e-5f);
        }
    }

    @Test
    void allCnnCPadsAsTensorFlowByDefaultAndSymmetricallyOnRequest() {
        AllCnnC tf = new AllCnnC(10, new Generator(5), new Generator(6));
        AllCnnC sym = new AllCnnC(10, false, new Generator(5), new Generator(6));
        assertTrue(tf.tfSamePadding());
        assertFalse(sym.tfSamePadding());
        assertEquals(tf.namedState().keySet(), sym.namedState().keySet());
        tf.eval();
        sym.eval();
        try (Scope s = Scope.open(); Grad.Mode off = Grad.disabled()) {
            for (var e : tf.namedParameters().entrySet()) {
                assertArrayEquals(e.getValue().data().toFloatArray(), sym.namedParameters().get(e.getKey()).data().toFloatArray(), e.getKey());
            }
            Tensor x = Tensor.randn(new Generator(7), 2, 3, 32, 32);
            float[] a = tf.forward(new Variable(x)).data().toFloatArray(), b = sym.forward(new Variable(x)).data().toFloatArray();
            assertEquals(20, a.length);
            boolean differs = false;
            for (int i = 0; i < a.length; i++) differs |= a[i] != b[i];
            assertTrue(differs, "the two paddings gave the same logits");
        }
    }

    /** tf.keras.initializers.glorot_normal() (TensorFlow 1.12): variance 2/(fan_in + fan_out), truncated at 2.27 std. */
    @Test
    void allCnnCWeightsAreTensorFlowsTruncatedGlorotNormalAndBiases01() {
        AllCnnC m = new AllCnnC(100, new Generator(8), new Generator(9));
        float[] w = m.conv5.weight.data().toFloatArray(); // (192, 192, 3, 3): fans 1728 and 1728, 331,776 draws
        double sigma = Math.sqrt(2.0 / (1728 + 1728));
        assertEquals(sigma, std(w), 0.01 * sigma);
        double max = maxAbs(w);
        assertTrue(max <= 2 * sigma / Init.TRUNCATED_NORMAL_STD * (1 + 1e-6), "beyond the truncation: " + max / sigma);
        assertTrue(max > 2.2 * sigma, "no draw beyond 2.2 std: the truncation is at 2.27 std, not at 2: " + max / sigma);
        for (float v : m.conv9.bias.data().toFloatArray()) assertEquals(0.1f, v);
    }

    @Test
    void charLstmHasDeepObsInitializers() {
        int vocab = 83, h = CharLstm.HIDDEN;
        CharLstm m = new CharLstm(vocab, new Generator(10), new Generator(11));
        // softmax_b = tf.get_variable("softmax_b", [vocab]): Glorot uniform with fans (vocab, vocab)
        float[] sb = m.fc.bias.data().toFloatArray();
        double bound = Math.sqrt(6.0 / (vocab + vocab));
        assertTrue(maxAbs(sb) <= bound, "softmax bias beyond sqrt(3/vocab)");
        assertTrue(maxAbs(sb) > bound / 2, "softmax bias is not Glorot uniform: max " + maxAbs(sb));
        // softmax_w (128, vocab), embedding (vocab, 128): Glorot uniform
        assertTrue(maxAbs(m.fc.weight.data().toFloatArray()) <= Math.sqrt(6.0 / (h + vocab)));
        assertTrue(maxAbs(m.embedding.weight.data().toFloatArray()) <= Math.sqrt(6.0 / (vocab + CharLstm.EMBED)));
        // the LSTM kernel (in + h, 4h) Glorot uniform; bias zero, and TensorFlow's constant forget_bias 1 beside it
        for (int k = 0; k < CharLstm.LAYERS; k++) {
            double kb = Math.sqrt(6.0 / (CharLstm.EMBED + h + 4 * h));
            assertTrue(maxAbs(m.lstm.weightIh(k).data().toFloatArray()) <= kb);
            assertTrue(maxAbs(m.lstm.weightHh(k).data().toFloatArray()) <= kb);
            float[] b = m.lstm.biasIh(k).data().toFloatArray();
            for (int i = 0; i < 4 * h; i++) assertEquals(0f, b[i], "bias_ih_l" + k + "[" + i + "]");
        }
        assertEquals(1.0, m.lstm.forgetBias());
        assertEquals(java.util.List.of("bias_ih_l0", "bias_ih_l1"),
                m.lstm.namedParameters().keySet().stream().filter(n -> n.startsWith("bias")).toList(), "the constant is not a parameter");
    }
}
