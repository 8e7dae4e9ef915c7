package optlab.kernels;

/**
 * Elementwise functions of two operands, {@code out = f(a, b)}, broadcast by strides (see
 * {@link Backend#binary}). {@link #apply} is the reference definition every backend must match. The
 * {@code *_BACKWARD} members are the activations' backward rules, fused so a backward pass reads
 * {@code dy} and the saved tensor once.
 */
public enum BinaryOp {
    ADD { public double apply(double a, double b) { return a + b; } },
    SUB { public double apply(double a, double b) { return a - b; } },
    MUL { public double apply(double a, double b) { return a * b; } },
    DIV { public double apply(double a, double b) { return a / b; } },
    /** max(a, b), NaN-propagating */
    MAX { public double apply(double a, double b) { return Double.isNaN(a) || a >= b ? a : b; } },
    /** min(a, b), NaN-propagating */
    MIN { public double apply(double a, double b) { return Double.isNaN(a) || a <= b ? a : b; } },
    /** a = dy, b = x (the ReLU's input): dx = x > 0 ? dy : 0 */
    RELU_BACKWARD { public double apply(double dy, double x) { return x > 0 ? dy : 0.0; } },
    /** a = dy, b = y = tanh(x): dx = dy * (1 - y^2) */
    TANH_BACKWARD { public double apply(double dy, double y) { return dy * (1.0 - y * y); } },
    /** a = dy, b = y = sigmoid(x): dx = dy * y * (1 - y) */
    SIGMOID_BACKWARD { public double apply(double dy, double y) { return dy * y * (1.0 - y); } };

    /** The reference: out = f(a, b). */
    public abstract double apply(double a, double b);
}
