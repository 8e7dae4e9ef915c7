package optlab.optim;

import optlab.optim.Numerics.DecayConvention;
import optlab.optim.Numerics.WeightDecayMode;

/**
 * Weight decay, the part every rule shares (see {@link Numerics.WeightDecayMode}). On the host it turns
 * (mode, lambda, convention, lr_t, eta_t) into three kernel scalars; per element it is two tiny pure
 * functions, used by every rule's reference update in float32 and float64 (the CUDA kernels have the
 * same two in {@code optim_common.cuh}).
 *
 * <p>Kernel scalars, in this order, at the end of every rule's scalar list:
 * <pre>
 *   wdMode    NONE 0, L2 1, DECOUPLED 2, PROXIMAL 3
 *   wdL2      lambda for L2, else 0
 *   wdFactor  DECOUPLED: 1 - d;  PROXIMAL: 1 + d;  else 1      (d = lambda*eta_t or lambda*lr_t)
 * </pre>
 */
final class WeightDecay {
    private WeightDecay() {}

    static final int NONE = 0, L2 = 1, DECOUPLED = 2, PROXIMAL = 3;

    /**
     * The three kernel scalars for one group at one step. {@code lrT} is the group's current learning
     * rate alpha*eta_t, {@code eta} the schedule multiplier eta_t.
     */
    static double[] scalars(WeightDecayMode mode, DecayConvention convention, double lambda, double lrT, double eta) {
        return switch (mode) {
            case NONE -> new double[] {NONE, 0, 1};
            case L2 -> new double[] {L2, lambda, 1};
            case DECOUPLED -> new double[] {DECOUPLED, 0, 1 - perStepDecay(convention, lambda, lrT, eta)};
            case PROXIMAL -> new double[] {PROXIMAL, 0, 1 + perStepDecay(convention, lambda, lrT, eta)};
        };
    }

    /** d: lambda*eta_t (LAMBDA_ETA_T) or lambda*alpha*eta_t (LAMBDA_LR). */
    static double perStepDecay(DecayConvention convention, double lambda, double lrT, double eta) {
        return convention == DecayConvention.LAMBDA_LR ? lambda * lrT : lambda * eta;
    }

    /** The gradient the rule sees: {@code g + lambda x} under L2, else g. */
    static float gradient(float g, float x, int mode, float l2) {
        return mode == L2 ? g + l2 * x : g;
    }

    /** x after a rule's step u: {@code x - u}, {@code (1 - d) x - u} or {@code (x - u) / (1 + d)}. */
    static float apply(float x, float u, int mode, float factor) {
        return switch (mode) {
            case DECOUPLED -> x * factor - u;
            case PROXIMAL -> (x - u) / factor;
            default -> x - u;
        };
    }

    /** {@link #gradient(float, float, int, float)} in float64. */
    static double gradient(double g, double x, int mode, double l2) {
        return mode == L2 ? g + l2 * x : g;
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

    /** {@link #apply(float, float, int, float)} in float64. */
    static double apply(double x, double u, int mode, double factor) {
        return switch (mode) {
            case DECOUPLED -> x * factor - u;
            case PROXIMAL -> (x - u) / factor;
            default -> x - u;
        };
    }
}
