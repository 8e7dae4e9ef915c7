package optlab.optim;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.FusedKernel.HostOperands;

/**
 * NOTE [vectorized-host]: the CPU fused passes of the rules whose per-element math has a square root
 * and divisions (RMSProp, Adam/NAdam), lane by lane with the Vector API. Scalar Java runs those at
 * 10-30 cycles per element, well below memory bandwidth; 8 or 16 lanes at a time they stream.
 *
 * <p>This is plumbing, not a second spec: each method performs, in every lane, exactly the
 * operations of the rule's reference {@code step}, in the same order. IEEE 754 add, subtract,
 * multiply, divide and square root are correctly rounded whether scalar or in a vector lane (the
 * Vector API never fuses a multiply and an add unless asked to with FMA, which these methods do not
 * use), so the results are bit for bit those of the reference: {@code FusedEqualsLoopTest} and
 * {@code VectorizedHostTest} check it. Elements that do not fill a vector go through the reference
 * itself. Float64 state uses a float species of half the double species' width, so x and g load as
 * many lanes as m and v and convert exactly (float to double) and round once (double to float).
 * Each method is the host body of a step kernel (NOTE [rule-kernels] in {@link UpdateKernels}): operands
 * (x, g, state0, state1), float32 arguments each rounded once from the record's double.
 */
final class VectorizedHost {
    private VectorizedHost() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Floats as many as D has lanes (half D's bit size). */
    static final VectorSpecies<Float> F_HALF = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));

    /** Adam/NAdam over elements [from, to) of each operand: {@link Adam#step} (float32) per lane. */
    static void adam(HostOperands o, Adam.Args s, int from, int to) {
        float[] x = o.f32(0), g = o.f32(1), m = o.f32(2), v = o.f32(3);
        int xo = o.offset(0), go = o.offset(1), mo = o.offset(2), vo = o.offset(3);
        int i = from, upper = from + F.loopBound(to - from);
        FloatVector b1 = f32(s.beta1()), omb1 = f32(s.oneMinusBeta1()), b2 = f32(s.beta2()), omb2 = f32(s.oneMinusBeta2());
        FloatVector eps = f32(s.eps()), d = f32(s.d()), step = f32(s.step()), l2 = f32(s.wd().l2()), factor = f32(s.wd().factor());
        int mode = s.wd().mode();
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
        for (; i < to; i++) x[xo + i] = Adam.step(x[xo + i], g[go + i], m, mo + i, v, vo + i, s);
    }

    /** Adam/NAdam with float64 state: {@link Adam#step} (float64) per lane. */
    static void adam64(HostOperands o, Adam.Args s, int from, int to) {
        float[] x = o.f32(0), g = o.f32(1);
        double[] m = o.f64(2), v = o.f64(3);
        int xo = o.offset(0), go = o.offset(1), mo = o.offset(2), vo = o.offset(3);
        int i = from, upper = from + D.loopBound(to - from);
        DoubleVector b1 = f64(s.beta1()), omb1 = f64(s.oneMinusBeta1()), b2 = f64(s.beta2()), omb2 = f64(s.oneMinusBeta2());
        DoubleVector eps = f64(s.eps()), d = f64(s.d()), step = f64(s.step()), l2 = f64(s.wd().l2()), factor = f64(s.wd().factor());
        int mode = s.wd().mode();
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
        for (; i < to; i++) x[xo + i] = (float) Adam.step(x[xo + i], g[go + i], m, mo + i, v, vo + i, s);
    }

    /** RMSProp: {@link RmsProp#step} (float32) per lane. */
    static void rmsprop(HostOperands o, RmsProp.Args s, int from, int to) {
        float[] x = o.f32(0), g = o.f32(1), v = o.f32(2), m = o.f32(3);
        int xo = o.offset(0), go = o.offset(1), vo = o.offset(2), mo = o.offset(3);
        int i = from, upper = from + F.loopBound(to - from);
        FloatVector lr = f32(s.lr()), gamma = f32(s.gamma()), rho = f32(s.rho()), omr = f32(s.oneMinusRho()), eps = f32(s.eps());
        FloatVector l2 = f32(s.wd().l2()), factor = f32(s.wd().factor());
        int mode = s.wd().mode();
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
        for (; i < to; i++) x[xo + i] = RmsProp.step(x[xo + i], g[go + i], v, vo + i, m, mo + i, s);
    }

    /** RMSProp with float64 state: {@link RmsProp#step} (float64) per lane. */
    static void rmsprop64(HostOperands o, RmsProp.Args s, int from, int to) {
        float[] x = o.f32(0), g = o.f32(1);
        double[] v = o.f64(2), m = o.f64(3);
        int xo = o.offset(0), go = o.offset(1), vo = o.offset(2), mo = o.offset(3);
        int i = from, upper = from + D.loopBound(to - from);
        DoubleVector lr = f64(s.lr()), gamma = f64(s.gamma()), rho = f64(s.rho()), omr = f64(s.oneMinusRho()), eps = f64(s.eps());
        DoubleVector l2 = f64(s.wd().l2()), factor = f64(s.wd().factor());
        int mode = s.wd().mode();
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
        for (; i < to; i++) x[xo + i] = (float) RmsProp.step(x[xo + i], g[go + i], v, vo + i, m, mo + i, s);
    }

    /** An argument rounded once to float32, in every lane. */
    private static FloatVector f32(double a) {
        return FloatVector.broadcast(F, (float) a);
    }

    /** An argument in every lane. */
    private static DoubleVector f64(double a) {
        return DoubleVector.broadcast(D, a);
    }

    /** {@link WeightDecay#quotient(float, float)} per lane: q/den, 0 where both are 0. */
    private static FloatVector quotient(FloatVector q, FloatVector den) {
        return q.div(den).blend(0f, q.eq(0f).and(den.eq(0f)));
    }

    /** {@link WeightDecay#quotient(double, double)} per lane. */
    private static DoubleVector quotient(DoubleVector q, DoubleVector den) {
        return q.div(den).blend(0.0, q.eq(0.0).and(den.eq(0.0)));
    }

    /** {@link WeightDecay#apply(float, float, WeightDecay.Args)} per lane. */
    private static FloatVector apply(FloatVector x, FloatVector u, int mode, FloatVector factor) {
        return switch (mode) {
            case WeightDecay.DECOUPLED -> x.mul(factor).sub(u);
            case WeightDecay.PROXIMAL -> x.sub(u).div(factor);
            default -> x.sub(u);
        };
    }

    /** {@link WeightDecay#apply(double, double, WeightDecay.Args)} per lane. */
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
