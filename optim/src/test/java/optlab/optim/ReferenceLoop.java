package optlab.optim;

import optlab.nn.ParameterArena;

/**
 * The plain per-parameter loop: one step of an optimizer's rule, parameter by parameter and element by
 * element, calling the rule's reference {@code step} on host copies of x, g and the state.
 * The arguments come from the optimizer itself (their values are checked by {@link FirstStepsTest}); what
 * this loop checks is the fused plumbing: groups, ranges, offsets, operand order, precision variants.
 */
final class ReferenceLoop {
    private ReferenceLoop() {}

    /** Host copies of an optimizer's state buffers, in {@link Optimizer#stateTensors()} order. */
    static Object[] hostState(Optimizer opt) {
        return opt.stateTensors().values().stream()
                .map(t -> switch (t.dtype()) {
                    case FLOAT32 -> (Object) t.toFloatArray();
                    case FLOAT64 -> t.toDoubleArray();
                    default -> throw new AssertionError(t.dtype());
                })
                .toArray();
    }

    /** Step t of {@code opt}'s rule over the host arrays. */
    static void step(Optimizer opt, ParameterArena arena, long t, float[] x, float[] g, Object[] state) {
        double eta = opt.config().schedule().multiplier(t);
        for (Optimizer.ResolvedGroup grp : opt.groups()) {
            Record a = opt.args(t, eta, grp);
            for (ParameterArena.Entry e : arena.entries()) {
                if (e.offset() < grp.offset() || e.offset() >= grp.offset() + grp.numel()) continue;
                for (int j = 0; j < e.numel(); j++) element(opt.kernel().name(), e.offset() + j, x, g, state, a);
            }
        }
    }

    private static void element(String kernel, int i, float[] x, float[] g, Object[] st, Record a) {
        x[i] = switch (kernel) {
            case "sgd_f32" -> Sgd.step(x[i], g[i], (Sgd.Args) a);
            case "momentum_f32" -> Momentum.step(x[i], g[i], (float[]) st[0], i, (Momentum.Args) a);
            case "momentum_f32_f64state" -> (float) Momentum.step(x[i], g[i], (double[]) st[0], i, (Momentum.Args) a);
            case "rmsprop_f32" -> RmsProp.step(x[i], g[i], (float[]) st[0], i, (float[]) st[1], i, (RmsProp.Args) a);
            case "rmsprop_f32_f64state" -> (float) RmsProp.step(x[i], g[i], (double[]) st[0], i, (double[]) st[1], i, (RmsProp.Args) a);
            case "adam_f32" -> Adam.step(x[i], g[i], (float[]) st[0], i, (float[]) st[1], i, (Adam.Args) a);
            case "adam_f32_f64state" -> (float) Adam.step(x[i], g[i], (double[]) st[0], i, (double[]) st[1], i, (Adam.Args) a);
            default -> throw new AssertionError("no reference for kernel " + kernel);
        };
    }

    /** Step t of {@code opt}'s rule over host arrays of float64 parameters (NOTE [float64-parameters]). */
    static void step(Optimizer opt, ParameterArena arena, long t, double[] x, double[] g, Object[] state) {
        double eta = opt.config().schedule().multiplier(t);
        for (Optimizer.ResolvedGroup grp : opt.groups()) {
            Record a = opt.args(t, eta, grp);
            for (ParameterArena.Entry e : arena.entries()) {
                if (e.offset() < grp.offset() || e.offset() >= grp.offset() + grp.numel()) continue;
                for (int j = 0; j < e.numel(); j++) element64(opt.kernel().name(), e.offset() + j, x, g, state, a);
            }
        }
    }

    private static void element64(String kernel, int i, double[] x, double[] g, Object[] st, Record a) {
        x[i] = switch (kernel) {
            case "sgd_f64" -> Sgd.step(x[i], g[i], (Sgd.Args) a);
            case "momentum_f64" -> Momentum.step(x[i], g[i], (double[]) st[0], i, (Momentum.Args) a);
            case "rmsprop_f64" -> RmsProp.step(x[i], g[i], (double[]) st[0], i, (double[]) st[1], i, (RmsProp.Args) a);
            case "adam_f64" -> Adam.step(x[i], g[i], (double[]) st[0], i, (double[]) st[1], i, (Adam.Args) a);
            default -> throw new AssertionError("no float64-parameter reference for kernel " + kernel);
        };
    }
}
