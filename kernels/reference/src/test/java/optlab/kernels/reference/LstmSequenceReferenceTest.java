package optlab.kernels.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Tolerance;
import org.junit.jupiter.api.Test;

/**
 * RefLstm's sequence-level LSTM: one step is the cell after the two matrix products; a sequence is its halves
 * chained through the state (forward and backward); the backward matches central differences in double precision.
 */
class LstmSequenceReferenceTest {
    static double[] randn(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = scale * r.nextGaussian();
        return a;
    }

    /** Every operand of one layer, random. */
    record Case(LstmGeometry g, double[] x, double[] h0, double[] c0, double[] wIh, double[] wHh, double[] bIh, double[] bHh) {
        static Case random(LstmGeometry g, long seed) {
            double k = 1 / Math.sqrt(g.hidden());
            return new Case(g, randn(seed, g.inputSize(), 1), randn(seed + 1, g.stateSize(), 1), randn(seed + 2, g.stateSize(), 1),
                    randn(seed + 3, g.weightIhSize(), k), randn(seed + 4, g.weightHhSize(), k), randn(seed + 5, g.biasSize(), k),
                    randn(seed + 6, g.biasSize(), k));
        }
    }

    /** y, hT, cT and the reserve of a forward. */
    record Out(double[] y, double[] hT, double[] cT, double[] reserve) {
        static Out of(Case c) {
            LstmGeometry g = c.g();
            Out o = new Out(new double[g.outputSize()], new double[g.stateSize()], new double[g.stateSize()], new double[g.stepReserveSize()]);
            RefLstm.sequenceForward(g, c.x(), c.h0(), c.c0(), c.wIh(), c.wHh(), c.bIh(), c.bHh(), o.y(), o.hT(), o.cT(), o.reserve());
            return o;
        }
    }

    @Test
    void oneStepIsTheCellAfterTheMatrixProducts() {
        LstmGeometry g = new LstmGeometry(1, 3, 4, 5);
        Case c = Case.random(g, 1);
        int h4 = 4 * g.hidden();
        double[] gates = new double[g.n() * h4];
        for (int b = 0; b < g.n(); b++)
            for (int r = 0; r < h4; r++) {
                double v = c.bIh()[r] + c.bHh()[r];
                for (int i = 0; i < g.input(); i++) v += c.wIh()[r * g.input() + i] * c.x()[b * g.input() + i];
                for (int j = 0; j < g.hidden(); j++) v += c.wHh()[r * g.hidden() + j] * c.h0()[b * g.hidden() + j];
                gates[b * h4 + r] = v;
            }
        double[] act = new double[gates.length], h = new double[g.stateSize()], cell = new double[g.stateSize()];
        RefLstm.forward(g.n(), g.hidden(), gates, 0, c.c0(), 0, act, 0, h, 0, cell, 0);
        Out o = Out.of(c);
        Tolerance.FLOAT64.assertClose("y", o.y(), h);
        Tolerance.FLOAT64.assertClose("hT", o.hT(), h);
        Tolerance.FLOAT64.assertClose("cT", o.cT(), cell);
        Tolerance.FLOAT64.assertClose("reserve: activated gates", Arrays.copyOf(o.reserve(), act.length), act);
        Tolerance.FLOAT64.assertClose("reserve: cell", Arrays.copyOfRange(o.reserve(), act.length, act.length + cell.length), cell);
    }

    @Test
    void nullStatesAndBiasesAreZeros() {
        LstmGeometry g = new LstmGeometry(4, 2, 3, 3);
        Case c = Case.random(g, 2);
        double[] zs = new double[g.stateSize()], zb = new double[g.biasSize()];
        Case zeros = new Case(g, c.x(), zs, zs, c.wIh(), c.wHh(), c.bIh(), zb);
        Case nulls = new Case(g, c.x(), null, null, c.wIh(), c.wHh(), c.bIh(), null);
        Out a = Out.of(zeros), b = Out.of(nulls);
        Tolerance.FLOAT64.assertClose("y", b.y(), a.y());
        Tolerance.FLOAT64.assertClose("cT", b.cT(), a.cT());
    }

    /** A sequence of 5 steps is its first 2 steps followed by the last 3 started from their final state, both ways. */
    @Test
    void halvesChainThroughTheState() {
        LstmGeometry whole = new LstmGeometry(5, 3, 4, 6), first = new LstmGeometry(2, 3, 4, 6), second = new LstmGeometry(3, 3, 4, 6);
        Case c = Case.random(whole, 3);
        int split = first.inputSize(), splitY = first.outputSize();
        Case c1 = new Case(first, Arrays.copyOf(c.x(), split), c.h0(), c.c0(), c.wIh(), c.wHh(), c.bIh(), c.bHh());
        Out o1 = Out.of(c1);
        Case c2 = new Case(second, Arrays.copyOfRange(c.x(), split, c.x().length), o1.hT(), o1.cT(), c.wIh(), c.wHh(), c.bIh(), c.bHh());
        Out o2 = Out.of(c2), o = Out.of(c);
        double[] y = Arrays.copyOf(o1.y(), whole.outputSize());
        System.arraycopy(o2.y(), 0, y, splitY, o2.y().length);
        Tolerance.FLOAT64.assertClose("y", y, o.y());
        Tolerance.FLOAT64.assertClose("hT", o2.hT(), o.hT());
        Tolerance.FLOAT64.assertClose("cT", o2.cT(), o.cT());

        double[] dy = randn(40, whole.outputSize(), 1), dhT = randn(41, whole.stateSize(), 1), dcT = randn(42, whole.stateSize(), 1);
        Grads all = Grads.of(c, o, dy, dhT, dcT);
        Grads g2 = Grads.of(c2, o2, Arrays.copyOfRange(dy, splitY, dy.length), dhT, dcT);
        Grads g1 = Grads.of(c1, o1, Arrays.copyOf(dy, splitY), g2.dh0(), g2.dc0());
        double[] dx = Arrays.copyOf(g1.dx(), whole.inputSize());
        System.arraycopy(g2.dx(), 0, dx, split, g2.dx().length);
        Tolerance.FLOAT64.assertClose("dx", dx, all.dx());
        Tolerance.FLOAT64.assertClose("dh0", g1.dh0(), all.dh0());
        Tolerance.FLOAT64.assertClose("dc0", g1.dc0(), all.dc0());
        Tolerance.FLOAT64.assertClose("dwIh", sum(g1.dwIh(), g2.dwIh()), all.dwIh());
        Tolerance.FLOAT64.assertClose("dwHh", sum(g1.dwHh(), g2.dwHh()), all.dwHh());
        Tolerance.FLOAT64.assertClose("db", sum(g1.db(), g2.db()), all.db());
    }

    private static double[] sum(double[] a, double[] b) {
        double[] s = a.clone();
        for (int i = 0; i < s.length; i++) s[i] += b[i];
        return s;
    }

    record Grads(double[] dx, double[] dh0, double[] dc0, double[] dwIh, double[] dwHh, double[] db) {
        static Grads of(Case c, Out o, double[] dy, double[] dhT, double[] dcT) {
            LstmGeometry g = c.g();
            Grads r = new Grads(new double[g.inputSize()], new double[g.stateSize()], new double[g.stateSize()], new double[g.weightIhSize()],
                    new double[g.weightHhSize()], new double[g.biasSize()]);
            RefLstm.sequenceBackward(g, c.x(), c.h0(), c.c0(), c.wIh(), c.wHh(), o.y(), o.reserve(), dy, dhT, dcT, r.dx(), r.dh0(), r.dc0(),
                    r.dwIh(), r.dwHh(), r.db());
            return r;
        }
    }

    /** loss = sum(y * ry) + sum(hT * rh) + sum(cT * rc): its gradients are dy = ry, dhT = rh, dcT = rc. */
    private static double loss(Case c, double[] ry, double[] rh, double[] rc) {
        Out o = Out.of(c);
        double l = 0;
        for (int i = 0; i < ry.length; i++) l += o.y()[i] * ry[i];
        for (int i = 0; i < rh.length; i++) l += o.hT()[i] * rh[i] + o.cT()[i] * rc[i];
        return l;
    }

    @Test
    void backwardMatchesCentralDifferences() {
        LstmGeometry g = new LstmGeometry(3, 2, 3, 2);
        Case c = Case.random(g, 4);
        double[] ry = randn(50, g.outputSize(), 1), rh = randn(51, g.stateSize(), 1), rc = randn(52, g.stateSize(), 1);
        Grads an = Grads.of(c, Out.of(c), ry, rh, rc);
        double[][] params = {c.x(), c.h0(), c.c0(), c.wIh(), c.wHh(), c.bIh(), c.bHh()};
        double[][] analytic = {an.dx(), an.dh0(), an.dc0(), an.dwIh(), an.dwHh(), an.db(), an.db()};
        String[] names = {"x", "h0", "c0", "wIh", "wHh", "bIh", "bHh"};
        double eps = 1e-6;
        int checked = 0;
        for (int p = 0; p < params.length; p++) {
            double[] numeric = new double[params[p].length];
            for (int i = 0; i < numeric.length; i++) {
                double keep = params[p][i];
                params[p][i] = keep + eps;
                double up = loss(c, ry, rh, rc);
                params[p][i] = keep - eps;
                double down = loss(c, ry, rh, rc);
                params[p][i] = keep;
                numeric[i] = (up - down) / (2 * eps);
                checked++;
            }
            Tolerance.GRADCHECK.assertClose("d loss / d " + names[p], analytic[p], numeric);
        }
        assertEquals(g.inputSize() + 2 * g.stateSize() + g.weightIhSize() + g.weightHhSize() + 2 * g.biasSize(), checked);
    }
}
