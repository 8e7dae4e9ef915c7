package optlab.optim;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * NOTE [vectorized-host]: the CPU fused passes of the rules whose per-element math has a square root
 * and divisions (RMSProp, Adam/NAdam), lane by lane with the Vector API. Scalar Java runs those at
 * 10-30 cycles per element, well below memory bandwidth; 8 or 16 lanes at a time they stream.
 *
 * <p>This is plumbing, not a second spec: each method performs, in every lane, exactly the
 * operations of the rule's reference {@code updateElement}, in the same order. IEEE 754 add, subtract,
 * multiply, divide and square root are correctly rounded whether scalar or in a vector lane (the
 * Vector API never fuses a multiply and an add unless asked to with FMA, which these methods do not
 * use), so the results are bit for bit those of the reference: {@code FusedEqualsLoopTest} and
 * {@code VectorizedHostTest} check it. Elements that do not fill a vector go through the reference
 * itself. Float64 state uses a float species of half the double species' width, so x and g load as
 * many lanes as m and v and convert exactly (float to double) and round once (double to float).
 */
final class VectorizedHost {
    private VectorizedHost() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Floats as many as D has lanes (half D's bit size). */
    static final VectorSpecies<Float> F_HALF = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));

    /** Adam/NAdam over elements [from, to) of each operand: {@link Adam#updateElement} (float32) per lane. */
    static void adam(float[] x, int xo, float[] g, int go, float[] m, int mo, float[] v, int vo, Adam.Scalars s, int from, int to) {
        int i = from, upper = from + F.loopBound(to - from);
        FloatVector b1 = FloatVector.broadcast(F, s.beta1()), omb1 = FloatVector.broadcast(F, s.oneMinusBeta1());
        FloatVector b2 = FloatVector.broadcast(F, s.beta2()), omb2 = FloatVector.broadcast(F, s.oneMinusBeta2());
        FloatVector eps = FloatVector.broadcast(F, s.eps()), d = FloatVector.broadcast(F, s.d()), step = FloatVector.broadcast(F, s.step());
        FloatVector l2 = FloatVector.broadcast(F, s.wdL2()), factor = FloatVector.broadcast(F, s.wdFactor());
        int mode = s.wdMode();
        boolean nadam = s.nadam(), inside = s.epsInside();
        for (; i < upper; i += F.length()) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + i);
            FloatVector grad = FloatVector.fromArray(F, g, go + i);
            if (mode == WeightDecay.L2) grad = grad.add(l2.mul(xv));                        // g + l2*x
            FloatVector mt = b1.mul(FloatVector.fromArray(F, m, mo + i)).add(omb1.mul(grad)); // beta1*m + (1-beta1)*g
            FloatVector vt = b2.mul(FloatVector.fromArray(F, v, vo + i)).add(omb2.mul(grad.mul(grad)));
            mt.intoArray(m, mo + i);
            vt.intoArray(v, vo + i);
            FloatVector num = nadam ? b1.mul(mt).add(omb1.mul(grad)) : mt;
            FloatVector den = inside ? vt.div(d).add(eps).lanewise(VectorOperators.SQRT)
                    : vt.lanewise(VectorOperators.SQRT).div(d).add(eps);
            FloatVector u = quotient(step.mul(num), den);
            apply(xv, u, mode, factor).intoArray(x, xo + i);
        }
        for (; i < to; i++) Adam.updateElement(x, xo + i, g, go + i, m, mo + i, v, vo + i, s);
    }

    /** Adam/NAdam with float64 state: {@link Adam#updateElement} (float64) per lane. */
    static void adam(float[] x, int xo, float[] g, int go, double[] m, int mo, double[] v, int vo, Adam.Scalars64 s, int from, int to) {
        int i = from, upper = from + D.loopBound(to - from);
        DoubleVector b1 = DoubleVector.broadcast(D, s.beta1()), omb1 = DoubleVector.broadcast(D, s.oneMinusBeta1());
        DoubleVector b2 = DoubleVector.broadcast(D, s.beta2()), omb2 = DoubleVector.broadcast(D, s.oneMinusBeta2());
        DoubleVector eps = DoubleVector.broadcast(D, s.eps()), d = DoubleVector.broadcast(D, s.d()), step = DoubleVector.broadcast(D, s.step());
        DoubleVector l2 = DoubleVector.broadcast(D, s.wdL2()), factor = DoubleVector.broadcast(D, s.wdFactor());
        int mode = s.wdMode();
        boolean nadam = s.nadam(), inside = s.epsInside();
        for (; i < upper; i += D.length()) {
            DoubleVector xv = widen(x, xo + i);
            DoubleVector grad = widen(g, go + i);
            if (mode == WeightDecay.L2) grad = grad.add(l2.mul(xv));
            DoubleVector mt = b1.mul(DoubleVector.fromArray(D, m, mo + i)).add(omb1.mul(grad));
            DoubleVector vt = b2.mul(DoubleVector.fromArray(D, v, vo + i)).add(omb2.mul(grad.mul(grad)));
            mt.intoArray(m, mo + i);
            vt.intoArray(v, vo + i);
            DoubleVector num = nadam ? b1.mul(mt).add(omb1.mul(grad)) : mt;
            DoubleVector den = inside ? vt.div(d).add(eps).lanewise(VectorOperators.SQRT)
                    : vt.lanewise(VectorOperators.SQRT).div(d).add(eps);
            DoubleVector u = quotient(step.mul(num), den);
            narrow(apply(xv, u, mode, factor), x, xo + i);
        }
        for (; i < to; i++) Adam.updateElement(x, xo + i, g, go + i, m, mo + i, v, vo + i, s);
    }

    /** RMSProp: {@link RmsProp#updateElement} (float32) per lane. */
    static void rmsprop(float[] x, int xo, float[] g, int go, float[] v, int vo, float[] m, int mo, RmsProp.Scalars s, int from, int to) {
        int i = from, upper = from + F.loopBound(to - from);
        FloatVector lr = FloatVector.broadcast(F, s.lr()), gamma = FloatVector.broadcast(F, s.gamma());
        FloatVector rho = FloatVector.broadcast(F, s.rho()), omr = FloatVector.broadcast(F, s.oneMinusRho());
        FloatVector eps = FloatVector.broadcast(F, s.eps());
        FloatVector l2 = FloatVector.broadcast(F, s.wdL2()), factor = FloatVector.broadcast(F, s.wdFactor());
        int mode = s.wdMode();
        boolean inside = s.epsInside();
        for (; i < upper; i += F.length()) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + i);
            FloatVector grad = FloatVector.fromArray(F, g, go + i);
            if (mode == WeightDecay.L2) grad = grad.add(l2.mul(xv));
            FloatVector vt = rho.mul(FloatVector.fromArray(F, v, vo + i)).add(omr.mul(grad.mul(grad)));
            FloatVector den = inside ? vt.add(eps).lanewise(VectorOperators.SQRT) : vt.lanewise(VectorOperators.SQRT).add(eps);
            FloatVector mt = gamma.mul(FloatVector.fromArray(F, m, mo + i)).add(quotient(lr.mul(grad), den));
            vt.intoArray(v, vo + i);
            mt.intoArray(m, mo + i);
            apply(xv, mt, mode, factor).intoArray(x, xo + i);
        }
        for (; i < to; i++) RmsProp.updateElement(x, xo + i, g, go + i, v, vo + i, m, mo + i, s);
    }

    /** RMSProp with float64 state: {@link RmsProp#updateElement} (float64) per lane. */
    static void rmsprop(float[] x, int xo, float[] g, int go, double[] v, int vo, double[] m, int mo, RmsProp.Scalars64 s, int from, int to) {
        int i = from, upper = from + D.loopBound(to - from);
        DoubleVector lr = DoubleVector.broadcast(D, s.lr()), gamma = DoubleVector.broadcast(D, s.gamma());
        DoubleVector rho = DoubleVector.broadcast(D, s.rho()), omr = DoubleVector.broadcast(D, s.oneMinusRho());
        DoubleVector eps = DoubleVector.broadcast(D, s.eps());
        DoubleVector l2 = DoubleVector.broadcast(D, s.wdL2()), factor = DoubleVector.broadcast(D, s.wdFactor());
        int mode = s.wdMode();
        boolean inside = s.epsInside();
        for (; i < upper; i += D.length()) {
            DoubleVector xv = widen(x, xo + i);
            DoubleVector grad = widen(g, go + i);
            if (mode == WeightDecay.L2) grad = grad.add(l2.mul(xv));
            DoubleVector vt = rho.mul(DoubleVector.fromArray(D, v, vo + i)).add(omr.mul(grad.mul(grad)));
            DoubleVector den = inside ? vt.add(eps).lanewise(VectorOperators.SQRT) : vt.lanewise(VectorOperators.SQRT).add(eps);
            DoubleVector mt = gamma.mul(DoubleVector.fromArray(D, m, mo + i)).add(quotient(lr.mul(grad), den));
            vt.intoArray(v, vo + i);
            mt.intoArray(m, mo + i);
            narrow(apply(xv, mt, mode, factor), x, xo + i);
        }
        for (; i < to; i++) RmsProp.updateElement(x, xo + i, g, go + i, v, vo + i, m, mo + i, s);
    }

    /** {@link WeightDecay#quotient(float, float)} per lane: q/den, 0 where both are 0. */
    private static FloatVector quotient(FloatVector q, FloatVector den) {
        return q.div(den).blend(0f, q.eq(0f).and(den.eq(0f)));
    }

    /** {@link WeightDecay#quotient(double, double)} per lane. */
    private static DoubleVector quotient(DoubleVector q, DoubleVector den) {
        return q.div(den).blend(0.0, q.eq(0.0).and(den.eq(0.0)));
    }

    /** {@link WeightDecay#apply(float, float, int, float)} per lane. */
    private static FloatVector apply(FloatVector x, FloatVector u, int mode, FloatVector factor) {
        return switch (mode) {
            case WeightDecay.DECOUPLED -> x.mul(factor).sub(u);
            case WeightDecay.PROXIMAL -> x.sub(u).div(factor);
            default -> x.sub(u);
        };
    }

    /** {@link WeightDecay#apply(double, double, int, double)} per lane. */
    private static DoubleVector apply(DoubleVector x, DoubleVector u, int mode, DoubleVector factor) {
        return switch (mode) {
            case WeightDecay.DECOUPLED -> x.mul(factor).sub(u);
            case WeightDecay.PROXIMAL -> x.sub(u).div(factor);
            default -> x.sub(u);
        };
    }

    /** D.length() floats from a[i], widened exactly to double. */
    private static DoubleVector widen(float[] a, int i) {
        return (DoubleVector) FloatVector.fromArray(F_HALF, a, i).convertShape(VectorOperators.F2D, D, 0);
    }

    /** The lanes of x rounded to float (to nearest), stored at a[i]. */
    private static void narrow(DoubleVector x, float[] a, int i) {
        ((FloatVector) x.convertShape(VectorOperators.D2F, F_HALF, 0)).intoArray(a, i);
    }
}
