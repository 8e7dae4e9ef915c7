package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import optlab.autograd.Variable;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * {@link Lstm} against PyTorch: golden/lstm_golden.txt, written by golden/lstm_golden.py (a 2-layer
 * torch.nn.LSTM(3, 4) in float64 over 5 steps of 2 sequences from a given state, its outputs, and the gradients
 * of x and of every parameter for loss = sum(y * wy) + sum(h_T * wh) + sum(c_T * wc)). The same weights are
 * loaded into the engine's float32 Lstm; the tolerance is float32 rounding over a few dozen operations.
 */
class LstmGoldenTest {
    private static final double TOL = 2e-5;

    private static Map<String, double[]> golden() throws IOException {
        Map<String, double[]> m = new LinkedHashMap<>();
        try (var in = LstmGoldenTest.class.getResourceAsStream("/golden/lstm_golden.txt");
             var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String head; (head = r.readLine()) != null; ) {
                String name = head.split(" ")[0];
                m.put(name, Arrays.stream(r.readLine().trim().split(" ")).mapToDouble(Double::parseDouble).toArray());
            }
        }
        return m;
    }

    private static float[] f32(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    private static void assertClose(String what, double[] expected, Tensor actual) {
        float[] a = actual.toFloatArray();
        assertEquals(expected.length, a.length, what + ": size");
        for (int i = 0; i < a.length; i++) {
            double tol = TOL * Math.max(1, Math.abs(expected[i]));
            assertTrue(Math.abs(a[i] - expected[i]) <= tol, what + "[" + i + "]: " + a[i] + ", PyTorch " + expected[i]);
        }
    }

    private static Lstm loaded(Map<String, double[]> g) {
        Lstm lstm = new Lstm(3, 4, 2, true, new Generator(1));
        for (var e : lstm.namedParameters().entrySet()) {
            Tensor d = e.getValue().data();
            try (Tensor src = Tensor.of(f32(g.get(e.getKey())), d.shape().toArray())) {
                d.copyFrom(src);
            }
        }
        return lstm;
    }

    @Test
    void outputsAndGradientsMatchPyTorch() throws IOException {
        Map<String, double[]> g = golden();
        Lstm lstm = loaded(g);
        try (Scope scope = Scope.open()) {
            Variable x = new Variable(Tensor.of(f32(g.get("x")), 5, 2, 3), true);
            Tensor h0 = Tensor.of(f32(g.get("h0")), 2, 2, 4), c0 = Tensor.of(f32(g.get("c0")), 2, 2, 4);
            Tensor wh = Tensor.of(f32(g.get("wh")), 2, 2, 4), wc = Tensor.of(f32(g.get("wc")), 2, 2, 4);
            // layer by layer, as CharLstm runs it, so that the final states stay in the graph
            Variable in = x, loss = null;
            for (int k = 0; k < 2; k++) {
                Lstm.LayerOutput lo = lstm.forwardLayer(k, in, new Variable(h0.select(0, k)), new Variable(c0.select(0, k)));
                Variable term = lo.h().mul(new Variable(wh.select(0, k))).sum().add(lo.c().mul(new Variable(wc.select(0, k))).sum());
                loss = loss == null ? term : loss.add(term);
                in = lo.output();
            }
            assertClose("y", g.get("y"), in.data());
            loss = loss.add(in.mul(new Variable(Tensor.of(f32(g.get("wy")), 5, 2, 4))).sum());
            assertClose("loss", g.get("loss"), loss.data());
            loss.backward();
            assertClose("grad.x", g.get("grad.x"), x.grad());
            for (var e : lstm.namedParameters().entrySet()) assertClose("grad." + e.getKey(), g.get("grad." + e.getKey()), e.getValue().grad());

            // the module's own forward: the last layer's outputs and the final state of every layer
            Lstm.Output out = lstm.forward(new Variable(Tensor.of(f32(g.get("x")), 5, 2, 3)), new Lstm.State(h0, c0));
            assertClose("forward y", g.get("y"), out.output().data());
            assertClose("forward hT", g.get("hT"), out.state().h());
            assertClose("forward cT", g.get("cT"), out.state().c());
        }
    }
}
