package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.SplittableRandom;
import optlab.kernels.FusedKernel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * NOTE [vectorized-host]: the Vector API passes equal the scalar reference bit for bit, at odd sizes and
 * offsets (whole vectors plus a scalar tail), in every numerics branch, and after the JIT has compiled
 * them (enough iterations over a large range to reach C2, whose vector instructions must round exactly
 * as the scalar ones).
 */
class VectorizedHostTest {
    /** Kernel scalars (NOTE [kernel-args]): Adam (12) or RMSProp (9), the branch chosen by {@code variant}. */
    private static double[] adamScalars(int variant) {
        // s, beta1, 1-beta1, beta2, 1-beta2, eps, d, epsInside, nadam, wdMode, wdL2, wdFactor
        return switch (variant) {
            case 0 -> new double[] {1e-3, 0.9, 0.1, 0.999, 0.001, 1e-8, 1, 0, 0, 0, 0, 1};            // Choi
            case 1 -> new double[] {2e-3, 0.8, 0.2, 0.99, 0.01, 1e-6, 0.3, 0, 1, 1, 0.05, 1};         // NAdam, L2
            case 2 -> new double[] {1e-3, 0.9, 0.1, 0.999, 0.001, 1e-4, 0.02, 1, 0, 2, 0, 0.999};    // eps inside, decoupled
            default -> new double[] {1e-3, 0.9, 0.1, 0.999, 0.001, 0, 0.7, 0, 0, 3, 0, 1.001};        // eps 0, proximal
        };
    }

    private static double[] rmspropScalars(int variant) {
        // lr, gamma, rho, 1-rho, eps, epsInside, wdMode, wdL2, wdFactor
        return switch (variant) {
            case 0 -> new double[] {1e-3, 0, 0.9, 0.1, 1e-10, 1, 0, 0, 1};
            case 1 -> new double[] {1e-3, 0.9, 0.99, 0.01, 1e-3, 0, 1, 0.1, 1};
            case 2 -> new double[] {2e-3, 0.5, 0.9, 0.1, 1e-6, 1, 2, 0, 0.99};
            default -> new double[] {2e-3, 0.5, 0.9, 0.1, 1e-6, 0, 3, 0, 1.01};
        };
    }

    @ParameterizedTest(name = "variant {0} n={1} offset={2}")
    @CsvSource({"0, 1, 0", "1, 17, 3", "2, 1023, 1", "3, 100003, 7", "0, 20001, 5", "1, 4099, 0", "2, 20001, 2", "3, 33, 0"})
    void vectorPassesEqualTheReference(int variant, int n, int offset) {
        SplittableRandom r = new SplittableRandom(n + variant);
        int len = offset + n;
        float[] m0 = gauss(r, len), v0 = abs(gauss(r, len));
        for (int i = 0; i < len; i += 11) m0[i] = v0[i] = 0; // fresh coordinates: with g = 0 and eps = 0, 0/0 (NOTE [zero-over-zero])
        float[] x = gauss(r, len), xr = x.clone(), m = m0.clone(), mr = m.clone(), v = v0.clone(), vr = v.clone();
        double[] m64 = wide(m), m64r = m64.clone(), v64 = wide(v), v64r = v64.clone();
        float[] x64 = x.clone(), x64r = x.clone();
        float[] xs = x.clone(), xsr = x.clone(), vs = v.clone(), vsr = v.clone(), ms = m.clone(), msr = m.clone();
        double[] vs64 = wide(v), vs64r = vs64.clone(), ms64 = wide(m), ms64r = ms64.clone();
        float[] xs64 = x.clone(), xs64r = x.clone();
        Adam.Args a = RuleKernel.args(Adam.Args.class, adamScalars(variant));
        RmsProp.Args p = RuleKernel.args(RmsProp.Args.class, rmspropScalars(variant));
        for (int step = 0; step < (n > 50_000 ? 6 : 3); step++) {
            float[] g = gauss(r, len);
            for (int i = 0; i < len; i += 11) g[i] = 0;
            VectorizedHost.adam(host(offset, x, g, m, v), a, 0, n);
            VectorizedHost.adam64(host(offset, x64, g, m64, v64), a, 0, n);
            VectorizedHost.rmsprop(host(offset, xs, g, vs, ms), p, 0, n);
            VectorizedHost.rmsprop64(host(offset, xs64, g, vs64, ms64), p, 0, n);
            for (int i = offset; i < len; i++) {
                xr[i] = Adam.step(xr[i], g[i], mr, i, vr, i, a);
                x64r[i] = (float) Adam.step(x64r[i], g[i], m64r, i, v64r, i, a);
                xsr[i] = RmsProp.step(xsr[i], g[i], vsr, i, msr, i, p);
                xs64r[i] = (float) RmsProp.step(xs64r[i], g[i], vs64r, i, ms64r, i, p);
            }
        }
        assertArrayEquals(xr, x, "adam x");
        assertArrayEquals(mr, m, "adam m");
        assertArrayEquals(vr, v, "adam v");
        assertArrayEquals(x64r, x64, "adam f64 x");
        assertArrayEquals(m64r, m64, "adam f64 m");
        assertArrayEquals(v64r, v64, "adam f64 v");
        assertArrayEquals(xsr, xs, "rmsprop x");
        assertArrayEquals(vsr, vs, "rmsprop v");
        assertArrayEquals(msr, ms, "rmsprop m");
        assertArrayEquals(xs64r, xs64, "rmsprop f64 x");
        assertArrayEquals(vs64r, vs64, "rmsprop f64 v");
        assertArrayEquals(ms64r, ms64, "rmsprop f64 m");
    }

    /** The operands as the CPU backend hands them to a host kernel: these arrays, each at {@code offset}. */
    private static FusedKernel.HostOperands host(int offset, Object... arrays) {
        return new FusedKernel.HostOperands() {
            @Override
            public float[] f32(int j) {
                return (float[]) arrays[j];
            }

            @Override
            public double[] f64(int j) {
                return (double[]) arrays[j];
            }

            @Override
            public int offset(int j) {
                return offset;
            }
        };
    }

    private static float[] gauss(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    private static float[] abs(float[] a) {
        for (int i = 0; i < a.length; i++) a[i] = Math.abs(a[i]);
        return a;
    }

    private static double[] wide(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
