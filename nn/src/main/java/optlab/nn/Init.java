package optlab.nn;

import optlab.kernels.RandomDistribution;
import optlab.tensor.Generator;
import optlab.tensor.Tensor;

/**
 * Parameter initializers, in place, each the same as its PyTorch / TensorFlow namesake. Fans follow
 * PyTorch: for a weight (out, in, k...), fanIn = in * prod(k) and fanOut = out * prod(k).
 */
public final class Init {
    private Init() {}

    /** Whether a Kaiming initialization preserves the variance of the forward or of the backward pass. */
    public enum FanMode { FAN_IN, FAN_OUT }

    public static int fanIn(Tensor w) {
        return w.dim() < 2 ? w.numel() : w.numel() / w.size(0);
    }

    public static int fanOut(Tensor w) {
        return w.dim() < 2 ? w.numel() : w.numel() / w.size(1);
    }

    public static Tensor constant(Tensor t, double value) {
        return t.fillInPlace(value);
    }

    public static Tensor uniform(Tensor t, double lo, double hi, Generator g) {
        return t.fillRandomInPlace(RandomDistribution.UNIFORM, lo, hi, g);
    }

    public static Tensor normal(Tensor t, double mean, double std, Generator g) {
        return t.fillRandomInPlace(RandomDistribution.NORMAL, mean, std, g);
    }

    /** Normal(mean, std) redrawn beyond two standard deviations: TensorFlow's truncated_normal (DeepOBS). */
    public static Tensor truncatedNormal(Tensor t, double mean, double std, Generator g) {
        return t.fillRandomInPlace(RandomDistribution.TRUNCATED_NORMAL, mean, std, g);
    }

    /** PyTorch's kaiming_normal_ with a ReLU gain: N(0, 2 / fan). */
    public static Tensor kaimingNormal(Tensor w, FanMode mode, Generator g) {
        int fan = mode == FanMode.FAN_IN ? fanIn(w) : fanOut(w);
        return normal(w, 0, Math.sqrt(2.0 / fan), g);
    }

    /** PyTorch's kaiming_uniform_ with a ReLU gain: U(-b, b), b = sqrt(6 / fan). */
    public static Tensor kaimingUniform(Tensor w, FanMode mode, Generator g) {
        int fan = mode == FanMode.FAN_IN ? fanIn(w) : fanOut(w);
        double bound = Math.sqrt(6.0 / fan);
        return uniform(w, -bound, bound, g);
    }

    /** Glorot (Xavier) normal: N(0, 2 / (fanIn + fanOut)). */
    public static Tensor glorotNormal(Tensor w, Generator g) {
        return normal(w, 0, Math.sqrt(2.0 / (fanIn(w) + fanOut(w))), g);
    }

    /**
     * The standard deviation of a standard normal truncated to [-2, 2]
     * ({@code scipy.stats.truncnorm.std(a=-2, b=2)}): TensorFlow's VarianceScaling divides its target
     * standard deviation by it so that the truncated draws keep the target variance.
     */
    public static final double TRUNCATED_NORMAL_STD = 0.87962566103423978;

    /**
     * TensorFlow's {@code glorot_normal} ({@code tf.keras.initializers.glorot_normal}) as of TensorFlow 1.12,
     * the version DeepOBS was tested with: VarianceScaling(scale 1, fan_avg, "truncated_normal"), a normal
     * of standard deviation sqrt(2 / (fanIn + fanOut)) / {@link #TRUNCATED_NORMAL_STD} redrawn beyond two
     * of those standard deviations. Its variance is 2 / (fanIn + fanOut), as {@link #glorotNormal}'s, but
     * no value lies beyond 2.27 sqrt(2 / (fanIn + fanOut)). (TensorFlow releases before the 2018 fix of
     * tensorflow/tensorflow#18706 lacked the division: variance 0.774 times smaller.) Conv fans are the
     * same in TensorFlow's (k, k, in, out) layout as in PyTorch's (out, in, k, k).
     */
    public static Tensor glorotTruncatedNormal(Tensor w, Generator g) {
        return truncatedNormal(w, 0, Math.sqrt(2.0 / (fanIn(w) + fanOut(w))) / TRUNCATED_NORMAL_STD, g);
    }

    /** Glorot (Xavier) uniform: U(-b, b), b = sqrt(6 / (fanIn + fanOut)). */
    public static Tensor glorotUniform(Tensor w, Generator g) {
        double bound = Math.sqrt(6.0 / (fanIn(w) + fanOut(w)));
        return uniform(w, -bound, bound, g);
    }

    /**
     * Glorot uniform with explicit fans: U(-b, b), b = sqrt(6 / (fanIn + fanOut)). For a tensor that is
     * a slice of a larger TensorFlow variable (an LSTM's input and recurrent kernels are one (in + h, 4h)
     * matrix there), pass the fans of the whole variable.
     */
    public static Tensor glorotUniform(Tensor t, int fanIn, int fanOut, Generator g) {
        double bound = Math.sqrt(6.0 / (fanIn + fanOut));
        return uniform(t, -bound, bound, g);
    }

    /**
     * PyTorch's default for every weight and bias of {@code nn.LSTM} (and {@code nn.LSTMCell}):
     * U(-1/sqrt(hidden), 1/sqrt(hidden)).
     */
    public static Tensor pytorchLstm(Tensor t, int hiddenSize, Generator g) {
        double bound = 1.0 / Math.sqrt(hiddenSize);
        return uniform(t, -bound, bound, g);
    }

    /**
     * PyTorch's default for Linear and Conv weights, kaiming_uniform_(a = sqrt 5), which works out to
     * U(-1/sqrt(fanIn), 1/sqrt(fanIn)); and for their biases the same bound.
     */
    public static Tensor pytorchDefault(Tensor t, int fanIn, Generator g) {
        double bound = 1.0 / Math.sqrt(fanIn);
        return uniform(t, -bound, bound, g);
    }
}
