package optlab.optim;

import optlab.optim.Numerics.EpsPlacement;

/** The resolved update of an {@link OptimizerConfig} written out as formulas (for JSON and logs). */
final class Formulas {
    private Formulas() {}

    static String of(OptimizerConfig c) {
        Numerics n = c.numerics();
        String lrT = "lr_t = lr*eta_t";
        String g = switch (n.weightDecayMode()) {
            case L2 -> "g <- g + lambda*x; ";
            default -> "";
        };
        String u = switch (c.rule()) {
            case SGD -> "u = lr_t*g";
            case MOMENTUM -> "v <- gamma*v + g; u = lr_t*v";
            case NESTEROV -> "v <- gamma*v + g; u = lr_t*(gamma*v + g)";
            case RMSPROP -> "v <- rho*v + (1-rho)*g^2 (v_0 = " + n.initialAccumulator() + "); m <- gamma*m + lr_t*g/"
                    + (n.epsPlacement() == EpsPlacement.INSIDE_SQRT ? "sqrt(v + eps)" : "(sqrt(v) + eps)") + "; u = m";
            case ADAM, NADAM -> adam(c);
        };
        String x = switch (n.weightDecayMode()) {
            case NONE, L2 -> "x <- x - u";
            case DECOUPLED -> "x <- (1 - d)*x - u";
            case PROXIMAL -> "x <- (x - u)/(1 + d)";
        };
        String d = n.decayConvention() == null ? ""
                : n.decayConvention() == Numerics.DecayConvention.LAMBDA_ETA_T ? "; d = lambda*eta_t" : "; d = lambda*lr_t";
        return lrT + "; " + g + u + "; " + x + d;
    }

    private static String adam(OptimizerConfig c) {
        Numerics n = c.numerics();
        boolean bc = n.biasCorrection();
        String moments = "m <- beta1*m + (1-beta1)*g; v <- beta2*v + (1-beta2)*g^2; ";
        String num = c.rule() == Rule.NADAM ? "(beta1*m + (1-beta1)*g)" : "m";
        String c1 = bc ? "(1-beta1^t)" : "1", c2 = bc ? "(1-beta2^t)" : "1";
        return moments + switch (n.epsPlacement()) {
            case OUTSIDE_UNCORRECTED -> "u = lr_t*b_t*" + num + "/(sqrt(v) + eps), b_t = " + (bc ? "sqrt(1-beta2^t)/(1-beta1^t)" : "1");
            case OUTSIDE_CORRECTED -> "u = (lr_t/" + c1 + ")*" + num + "/(sqrt(v)/sqrt" + c2 + " + eps)";
            case INSIDE_SQRT -> "u = (lr_t/" + c1 + ")*" + num + "/sqrt(v/" + c2 + " + eps)";
        };
    }
}
