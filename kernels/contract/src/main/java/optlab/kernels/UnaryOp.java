package optlab.kernels;

/**
 * Elementwise functions of one operand and an optional scalar {@code alpha}: {@code y = f(x; alpha)}.
 * {@link #apply} is the reference definition (in double precision) that every backend must match.
 */
public enum UnaryOp {
    /** y = -x */
    NEG { public double apply(double x, double a) { return -x; } },
    /** y = e^x */
    EXP { public double apply(double x, double a) { return Math.exp(x); } },
    /** y = ln x */
    LOG { public double apply(double x, double a) { return Math.log(x); } },
    /** y = sqrt x */
    SQRT { public double apply(double x, double a) { return Math.sqrt(x); } },
    /** y = |x| */
    ABS { public double apply(double x, double a) { return Math.abs(x); } },
    /** y = x^2 */
    SQUARE { public double apply(double x, double a) { return x * x; } },
    /** y = 1/x */
    RECIPROCAL { public double apply(double x, double a) { return 1.0 / x; } },
    /** y = max(x, 0); NaN stays NaN (as in PyTorch) */
    RELU { public double apply(double x, double a) { return x > 0 || Double.isNaN(x) ? x : 0.0; } },
    /** y = tanh x */
    TANH { public double apply(double x, double a) { return Math.tanh(x); } },
    /** y = 1/(1+e^-x) */
    SIGMOID { public double apply(double x, double a) { return 1.0 / (1.0 + Math.exp(-x)); } },
    /** y = x + alpha */
    ADD_SCALAR { public double apply(double x, double a) { return x + a; } },
    /** y = x * alpha */
    MUL_SCALAR { public double apply(double x, double a) { return x * a; } },
    /** y = alpha - x */
    RSUB_SCALAR { public double apply(double x, double a) { return a - x; } },
    /** y = x ^ alpha */
    POW_SCALAR { public double apply(double x, double a) { return Math.pow(x, a); } };

    /** The reference: y = f(x; alpha). */
    public abstract double apply(double x, double alpha);
}
