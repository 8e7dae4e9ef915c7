package optlab.optim;

/**
 * A gradient holds NaN or an infinity: which parameter, which element, what value, at which step.
 * Thrown by {@link Optimizer#step()} under {@link NonFinitePolicy#THROW}; under
 * {@link NonFinitePolicy#SKIP} the same report is logged and kept as {@link Optimizer#lastSkipped()}.
 */
public final class NonFiniteGradientException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String parameter;
    private final int index;
    private final double value;
    private final long step;

    public NonFiniteGradientException(String parameter, int index, double value, long step, String action) {
        super("non-finite gradient at step " + step + ": " + parameter + "[" + index + "] (flat index within the parameter) is "
                + value + "; " + action);
        this.parameter = parameter;
        this.index = index;
        this.value = value;
        this.step = step;
    }

    /** The parameter's dotted name, as in {@code Module.namedParameters()}. */
    public String parameter() {
        return parameter;
    }

    /** The first bad element's flat index within the parameter. */
    public int index() {
        return index;
    }

    public double value() {
        return value;
    }

    /** The step t that was refused. */
    public long step() {
        return step;
    }
}
