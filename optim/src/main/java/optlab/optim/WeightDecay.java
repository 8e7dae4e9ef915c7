package optlab.optim;

import optlab.optim.Numerics.DecayConvention;
import optlab.optim.Numerics.WeightDecayMode;

/**
 * Weight decay, the part every rule shares (see {@link Numerics.WeightDecayMode}). On the host it turns
 * (mode, lambda, convention, lr_t, eta_t) into its kernel arguments ({@link Args}); per element it is two tiny pure
 * functions, used by every rule's reference update in float32 and float64 (the CUDA kernels have the
 * same two in {@code optim_common.cuh}).
 *
 * <p>Kernel arguments: {@link Args}, the last component {@code wd} of every rule's arguments record, so
 * the last three scalars of every kernel (NOTE [rule-kernels]: {@code wd.mode} is the scalar {@code wdMode}):
 * <pre>
 *   wdMode    NONE 0, L2 1, DECOUPLED 2, PROXIMAL 3
 *   wdL2      lambda for L2, else 0
 *   wdFactor  DECOUPLED: 1 - d;  PROXIMAL: 1 + d;  else 1      (d = lambda*eta_t or lambda*lr_t)
 * </pre>
 */
final class WeightDecay {
    private WeightDecay() {}

    static final int NONE = 0, L2 = 1, DECOUPLED = 2, PROXIMAL = 3;

    /** The weight-decay arguments of a kernel, in double (the float32 math rounds each once where it reads it). */
    record Args(int mode, double l2, double factor) {
        static final Args NONE = new Args(WeightDecay.NONE, 0, 1);
    }

    /**
     * The arguments for one group at one step. {@code lrT} is the group's current learning rate
     * alpha*eta_t, {@code eta} the schedule multiplier eta_t.
     */
    static Args args(WeightDecayMode mode, DecayConvention convention, double lambda, double lrT, double eta) {
        return switch (mode) {
            case NONE -> Args.NONE;
            case L2 -> new Args(L2, lambda, 1);
            case DECOUPLED -> new Args(DECOUPLED, 0, 1 - perStepDecay(convention, lambda, lrT, eta));
            case PROXIMAL -> new Args(PROXIMAL, 0, 1 + perStepDecay(convention, lambda, lrT, eta));
        };
    }

    /** d: lambda*eta_t (LAMBDA_ETA_T) or lambda*alpha*eta_t (LAMBDA_LR). */
    static double perStepDecay(DecayConvention convention, double lambda, double lrT, double eta) {
        return convention == DecayConvention.LAMBDA_LR ? lambda * lrT : lambda * eta;
    }

    /** The gradient the rule sees: {@code g + lambda x} under L2, else g. */
    static float gradient(float g, float x, Args wd) {
        return wd.mode() == L2 ? g + (float) wd.l2() * x : g;
    }

    /** x after a rule's step u: {@code x - u}, {@code (1 - d) x - u} or {@code (x - u) / (1 + d)}. */
    static float apply(float x, float u, Args wd) {
        return switch (wd.mode()) {
            case DECOUPLED -> x * (float) wd.factor() - u;
            case PROXIMAL -> (x - u) / (float) wd.factor();
            default -> x - u;
        };
    }

    /** {@link #gradient(float, float, Args)} in float64. */
    static double gradient(double g, double x, Args wd) {
        return wd.mode() == L2 ? g + wd.l2() * x : g;
    }

    /**
     * NOTE [zero-over-zero]: the rules' quotient {@code q / den} with 0/0 defined as 0. With eps = 0
     * (Zhuang et al.'s scale-free setting) a coordinate whose gradient has always been exactly zero (a
     * dead ReLU channel, say) has m = v = 0, and IEEE would write NaN into its weight. For any eps > 0
     * that coordinate's step is exactly 0/(0 + eps) = 0, so 0 is the eps -> 0 limit; every other
     * quotient, an infinite one included, is IEEE's. PyTorch with eps = 0 writes NaN there.
     */
    static float quotient(float q, float den) {
        return q == 0 && den == 0 ? 0f : q / den;
    }

    /** {@link #quotient(float, float)} in float64. */
    static double quotient(double q, double den) {
        return q == 0 && den == 0 ? 0.0 : q / den;
    }

    /** {@link #apply(float, float, Args)} in float64. */
    static double apply(double x, double u, Args wd) {
        return switch (wd.mode()) {
            case DECOUPLED -> x * wd.factor() - u;
            case PROXIMAL -> (x - u) / wd.factor();
            default -> x - u;
        };
    }
}
