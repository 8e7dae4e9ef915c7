package optlab.optim;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What {@link Optimizer#step()} does when a gradient holds NaN or an infinity. The check is one
 * reduction over the gradients before anything is written (see {@link GradientCheck}); the offending
 * parameter is then named.
 */
public enum NonFinitePolicy {
    /** The default: log a warning naming the parameter, leave weights, state and step count untouched. */
    @JsonProperty("skip") SKIP,
    /** Throw a {@link NonFiniteGradientException} naming the parameter; nothing is written. */
    @JsonProperty("throw") THROW,
    /** No check: the rule runs on whatever the gradients hold (saves one read of the gradients). */
    @JsonProperty("unchecked") UNCHECKED
}
