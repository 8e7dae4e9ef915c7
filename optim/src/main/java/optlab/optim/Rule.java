package optlab.optim;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The update rules of Choi et al.'s Table 1 (PAPERS.md section 1.2). Zhuang et al.'s Adam-L2, AdamW and
 * AdamProx, and PyTorch's Adam and AdamW, are ADAM with other {@link Numerics} (see {@link Presets}).
 * Each rule lists the hyperparameters that apply to it; {@link OptimizerConfig} refuses the others.
 */
public enum Rule {
    /** {@code x <- x - lr_t g}. */
    @JsonProperty("sgd") SGD(false, false, false, false),
    /** {@code v <- gamma v + g; x <- x - lr_t v}. */
    @JsonProperty("momentum") MOMENTUM(true, false, false, false),
    /** {@code v <- gamma v + g; x <- x - lr_t (gamma v + g)}. */
    @JsonProperty("nesterov") NESTEROV(true, false, false, false),
    /** {@code v <- rho v + (1-rho) g^2; m <- gamma m + lr_t g / sqrt(v + eps); x <- x - m}. */
    @JsonProperty("rmsprop") RMSPROP(true, true, false, true),
    /** {@code m <- beta1 m + (1-beta1) g; v <- beta2 v + (1-beta2) g^2; x <- x - lr_t b_t m / (sqrt(v) + eps)}. */
    @JsonProperty("adam") ADAM(false, false, true, true),
    /** Adam with the Nesterov look-ahead numerator {@code beta1 m + (1-beta1) g}. */
    @JsonProperty("nadam") NADAM(false, false, true, true);

    final boolean usesMomentum, usesRho, usesBetas, usesEps;

    Rule(boolean usesMomentum, boolean usesRho, boolean usesBetas, boolean usesEps) {
        this.usesMomentum = usesMomentum;
        this.usesRho = usesRho;
        this.usesBetas = usesBetas;
        this.usesEps = usesEps;
    }

    /** The lower-case name used in JSON and logs. */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Whether the rule keeps state (every rule but SGD). */
    public boolean hasState() {
        return this != SGD;
    }
}
