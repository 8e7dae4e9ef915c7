package optlab.optim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.optim.Numerics.DecayConvention;
import optlab.optim.Numerics.EpsPlacement;
import optlab.optim.Numerics.StatePrecision;
import optlab.optim.Numerics.WeightDecayMode;

/**
 * Named settings, each a combination of the explicit numerical choices of {@link Numerics}, named for
 * the source whose semantics it reproduces. lr_t = lr*eta_t; u is what the rule subtracts from x.
 *
 * <table>
 * <caption>Presets and the update each resolves to</caption>
 * <tr><th>name</th><th>update</th><th>defaults</th></tr>
 * <tr><td>{@code choi.sgd}</td><td>x &lt;- x - lr_t g</td><td>lr 0.01</td></tr>
 * <tr><td>{@code choi.momentum}</td><td>v &lt;- gamma v + g; x &lt;- x - lr_t v (v_0 = 0)</td><td>lr 0.01, gamma 0.9</td></tr>
 * <tr><td>{@code choi.nesterov}</td><td>v &lt;- gamma v + g; x &lt;- x - lr_t (gamma v + g)</td><td>lr 0.01, gamma 0.9</td></tr>
 * <tr><td>{@code choi.rmsprop}</td><td>v &lt;- rho v + (1-rho) g^2 (v_0 = 1); m &lt;- gamma m + lr_t g / sqrt(v + eps);
 *     x &lt;- x - m</td><td>TensorFlow 1: lr 0.001, rho 0.9, gamma 0, eps 1e-10</td></tr>
 * <tr><td>{@code choi.adam}</td><td>m &lt;- beta1 m + (1-beta1) g; v &lt;- beta2 v + (1-beta2) g^2;
 *     x &lt;- x - lr_t b_t m / (sqrt(v) + eps), b_t = sqrt(1-beta2^t)/(1-beta1^t)</td>
 *     <td>TensorFlow 1: lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8</td></tr>
 * <tr><td>{@code choi.nadam}</td><td>as choi.adam with numerator beta1 m + (1-beta1) g (no momentum-decay
 *     schedule: not {@code torch.optim.NAdam})</td><td>as choi.adam</td></tr>
 * <tr><td>{@code pytorch.adam}</td><td>g &lt;- g + lambda x; m, v as Adam;
 *     x &lt;- x - (lr_t/(1-beta1^t)) m / (sqrt(v)/sqrt(1-beta2^t) + eps)</td>
 *     <td>{@code torch.optim.Adam}: lr 0.001, betas (0.9, 0.999), eps 1e-8, weight_decay 0</td></tr>
 * <tr><td>{@code pytorch.adamw}</td><td>as pytorch.adam without the L2 term, and
 *     x &lt;- (1 - lambda lr_t) x - u</td><td>{@code torch.optim.AdamW}: as Adam, weight_decay 0.01</td></tr>
 * <tr><td>{@code zhuang.adam_l2}</td><td>as pytorch.adam (Zhuang et al.'s Adam-L2)</td><td>lr 0.001, lambda 0 (set it)</td></tr>
 * <tr><td>{@code zhuang.adamw}</td><td>x &lt;- (1 - lambda eta_t) x - u, u = (lr_t/(1-beta1^t)) m / (sqrt(v)/sqrt(1-beta2^t) + eps)</td>
 *     <td>lr 0.001, lambda 0 (set it)</td></tr>
 * <tr><td>{@code zhuang.adamprox}</td><td>x &lt;- (x - u) / (1 + lambda eta_t), u as zhuang.adamw</td><td>lr 0.001, lambda 0 (set it)</td></tr>
 * </table>
 *
 * <p>Every preset: float32 state, constant schedule, non-finite gradients skipped. Arithmetic order
 * (which matters at the ulp level when comparing with PyTorch): {@code m = beta1*m + (1-beta1)*g},
 * {@code v = beta2*v + (1-beta2)*(g*g)}, {@code u = (step*m)/denom}, as PyTorch's fused CUDA Adam;
 * PyTorch's default CPU and foreach paths update m with {@code lerp}, so expect ulp-level, not
 * bitwise, agreement with them.
 */
public final class Presets {
    private Presets() {}

    private static final Map<String, OptimizerConfig> PRESETS = new LinkedHashMap<>();

    static {
        Schedule constant = Schedule.constant();
        Numerics none = new Numerics(null, null, null, WeightDecayMode.NONE, null, StatePrecision.FLOAT32);
        add(new OptimizerConfig("choi.sgd", Rule.SGD, 0.01, null, null, null, null, null, 0,
                new Numerics(null, null, null, WeightDecayMode.NONE, null, null), constant, null, null));
        add(new OptimizerConfig("choi.momentum", Rule.MOMENTUM, 0.01, 0.9, null, null, null, null, 0, none, constant, null, null));
        add(new OptimizerConfig("choi.nesterov", Rule.NESTEROV, 0.01, 0.9, null, null, null, null, 0, none, constant, null, null));
        add(new OptimizerConfig("choi.rmsprop", Rule.RMSPROP, 0.001, 0.0, 0.9, null, null, 1e-10, 0,
                new Numerics(EpsPlacement.INSIDE_SQRT, null, 1.0, WeightDecayMode.NONE, null, StatePrecision.FLOAT32), constant, null, null));
        Numerics tf = new Numerics(EpsPlacement.OUTSIDE_UNCORRECTED, true, null, WeightDecayMode.NONE, null, StatePrecision.FLOAT32);
        add(new OptimizerConfig("choi.adam", Rule.ADAM, 0.001, null, null, 0.9, 0.999, 1e-8, 0, tf, constant, null, null));
        add(new OptimizerConfig("choi.nadam", Rule.NADAM, 0.001, null, null, 0.9, 0.999, 1e-8, 0, tf, constant, null, null));
        add(adamLike("pytorch.adam", 0, WeightDecayMode.L2, null));
        add(adamLike("pytorch.adamw", 0.01, WeightDecayMode.DECOUPLED, DecayConvention.LAMBDA_LR));
        add(adamLike("zhuang.adam_l2", 0, WeightDecayMode.L2, null));
        add(adamLike("zhuang.adamw", 0, WeightDecayMode.DECOUPLED, DecayConvention.LAMBDA_ETA_T));
        add(adamLike("zhuang.adamprox", 0, WeightDecayMode.PROXIMAL, DecayConvention.LAMBDA_ETA_T));
    }

    private static OptimizerConfig adamLike(String name, double lambda, WeightDecayMode mode, DecayConvention convention) {
        Numerics n = new Numerics(EpsPlacement.OUTSIDE_CORRECTED, true, null, mode, convention, StatePrecision.FLOAT32);
        return new OptimizerConfig(name, Rule.ADAM, 0.001, null, null, 0.9, 0.999, 1e-8, lambda, n, Schedule.constant(), null, null);
    }

    private static void add(OptimizerConfig c) {
        PRESETS.put(c.preset(), c);
    }

    /** Every preset name, in the order of the table above. */
    public static List<String> names() {
        return List.copyOf(PRESETS.keySet());
    }

    /** The preset called {@code name}; throws listing the names there are. */
    public static OptimizerConfig get(String name) {
        OptimizerConfig c = PRESETS.get(name);
        if (c == null) throw new IllegalArgumentException("no optimizer preset '" + name + "'; presets: " + String.join(", ", names()));
        return c;
    }

    /** A builder starting from preset {@code name}. */
    public static OptimizerConfig.Builder builder(String name) {
        return get(name).toBuilder();
    }
}
