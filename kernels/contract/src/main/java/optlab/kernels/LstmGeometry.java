package optlab.kernels;

/**
 * The shape of one LSTM layer run over a whole sequence, time-major and unidirectional, as one layer of
 * {@code torch.nn.LSTM}: x is (t, n, input); the weights are wIh (4*hidden, input) and wHh (4*hidden,
 * hidden), gate blocks in PyTorch's order [i | f | g | o]; the biases bIh and bHh are (4*hidden); the
 * output y is (t, n, hidden) (the h of every step); states h and c are (n, hidden).
 */
public record LstmGeometry(int t, int n, int input, int hidden) {
    public LstmGeometry {
        Checks.positive("lstmSequence", "t", t, "n", n, "input", input, "hidden", hidden);
        long biggest = Math.max((long) t * n * Math.max(input, 5L * hidden), 4L * hidden * Math.max(input, hidden));
        if (biggest > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("lstmSequence: t=" + t + ", n=" + n + ", input=" + input + ", hidden=" + hidden
                    + " needs arrays of " + biggest + " elements, more than a buffer holds (" + Integer.MAX_VALUE + ")");
        }
    }

    /** Elements of x: t * n * input. */
    public int inputSize() {
        return t * n * input;
    }

    /** Elements of y: t * n * hidden. */
    public int outputSize() {
        return t * n * hidden;
    }

    /** Elements of one state (h0, c0, hT, cT): n * hidden. */
    public int stateSize() {
        return n * hidden;
    }

    /** Elements of wIh: 4 * hidden * input. */
    public int weightIhSize() {
        return 4 * hidden * input;
    }

    /** Elements of wHh: 4 * hidden * hidden. */
    public int weightHhSize() {
        return 4 * hidden * hidden;
    }

    /** Elements of one bias: 4 * hidden. */
    public int biasSize() {
        return 4 * hidden;
    }

    /**
     * Elements of the reserve of the step-by-step implementations (the reference, the CPU backend, the own
     * CUDA variant): the activated gates of every step, (t, n, 4*hidden), then the cell state of every step,
     * (t, n, hidden). A vendor variant may need a different size: ask {@link Backend#lstmReserveSize}.
     */
    public int stepReserveSize() {
        return 5 * t * n * hidden;
    }
}
