package optlab.optim;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import optlab.nn.ParameterArena;
import optlab.optim.Numerics.DecayConvention;
import optlab.optim.Numerics.EpsPlacement;
import optlab.optim.Numerics.StatePrecision;
import optlab.optim.Numerics.WeightDecayMode;

/**
 * An optimizer's complete setting: the rule, every hyperparameter, every numerical choice
 * ({@link Numerics}), the schedule, what to do with non-finite gradients, and per-group overrides. It is
 * fully resolved: nothing is left to a default hidden in code, and a field that does not apply to the
 * rule is null and absent from the JSON. It round-trips through JSON ({@link #toJson()},
 * {@link #fromJson(String)}), and every run records it (with the arena's group ranges: see
 * {@link Optimizer#settings()}).
 *
 * <p>Build one from a named preset and change what you need:
 * <pre>{@code
 * OptimizerConfig c = Presets.builder("zhuang.adamw").lr(1e-3).weightDecay(5e-4)
 *         .schedule(Schedule.cosine(Schedule.Unit.EPOCH, 391, 300, 0)).build();
 * try (Optimizer opt = c.create(arena)) { ... }
 * }</pre>
 *
 * <p>Hyperparameters and their valid ranges (a value outside is refused, naming it):
 * lr (alpha) >= 0; momentum (gamma) in [0, 1); rho in [0, 1] (1 freezes RMSProp's accumulator, an
 * inclusion case); beta1, beta2 in [0, 1); eps >= 0; weight decay (lambda) >= 0; RMSProp's initial
 * accumulator >= 0.
 *
 * @param preset             the preset this setting started from ("custom" when none); the other
 *                           fields, not the name, are what ran
 * @param rule               the update rule
 * @param lr                 alpha, the base learning rate (the current one is alpha * eta_t)
 * @param momentum           gamma (Momentum, Nesterov, RMSProp)
 * @param rho                RMSProp's accumulator decay
 * @param beta1              Adam/NAdam first-moment decay
 * @param beta2              Adam/NAdam second-moment decay
 * @param eps                RMSProp/Adam/NAdam epsilon (placement in {@link Numerics#epsPlacement()})
 * @param weightDecay        lambda (its action in {@link Numerics#weightDecayMode()})
 * @param numerics           the numerical choices
 * @param schedule           eta_t
 * @param nonFiniteGradients what a step does with NaN or infinite gradients
 * @param groups             per-group overrides of lr and weight decay, by arena group name
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonPropertyOrder({"preset", "rule", "formula", "lr", "momentum", "rho", "beta1", "beta2", "eps", "weight_decay", "numerics",
    "schedule", "non_finite_gradients", "groups"})
@JsonIgnoreProperties(value = {"formula"}, allowGetters = true)
public record OptimizerConfig(String preset, Rule rule, double lr, Double momentum, Double rho, Double beta1, Double beta2,
                              Double eps, double weightDecay, Numerics numerics, Schedule schedule,
                              NonFinitePolicy nonFiniteGradients, List<GroupSettings> groups) {

    /**
     * Overrides for one parameter group of the arena ({@link ParameterArena#groups()}); null keeps the
     * optimizer-wide value. The usual use: {@code new GroupSettings("no_decay", null, 0.0)}.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record GroupSettings(String name, Double lr, Double weightDecay) {
        public GroupSettings {
            if (name == null || name.isEmpty()) throw new IllegalArgumentException("group settings need a group name");
            if (lr != null) check("learning rate of group " + name, lr, 0, Double.POSITIVE_INFINITY);
            if (weightDecay != null) check("weight decay of group " + name, weightDecay, 0, Double.POSITIVE_INFINITY);
        }
    }

    /** Validates everything; a bad value is refused with its name and value. */
    public OptimizerConfig {
        if (preset == null || preset.isEmpty()) preset = "custom";
        Objects.requireNonNull(rule, "rule");
        check("learning rate", lr, 0, Double.POSITIVE_INFINITY);
        String r = rule.id();
        applies(r, "momentum", momentum, rule.usesMomentum);
        applies(r, "rho", rho, rule.usesRho);
        applies(r, "beta1", beta1, rule.usesBetas);
        applies(r, "beta2", beta2, rule.usesBetas);
        applies(r, "eps", eps, rule.usesEps);
        if (momentum != null) check("momentum", momentum, 0, 1);
        if (rho != null) checkClosed("rho", rho, 0, 1);
        if (beta1 != null) check("beta1", beta1, 0, 1);
        if (beta2 != null) check("beta2", beta2, 0, 1);
        if (eps != null) check("eps", eps, 0, Double.POSITIVE_INFINITY);
        check("weight decay", weightDecay, 0, Double.POSITIVE_INFINITY);

        Objects.requireNonNull(numerics, "numerics");
        applies(r, "numerics.eps_placement", numerics.epsPlacement(), rule.usesEps);
        applies(r, "numerics.bias_correction", numerics.biasCorrection(), rule.usesBetas);
        applies(r, "numerics.initial_accumulator", numerics.initialAccumulator(), rule == Rule.RMSPROP);
        applies(r, "numerics.state_precision", numerics.statePrecision(), rule.hasState());
        if (numerics.weightDecayMode() == null) throw new IllegalArgumentException(r + ": numerics.weight_decay_mode is missing");
        boolean decoupledOrProximal = numerics.weightDecayMode() == WeightDecayMode.DECOUPLED
                || numerics.weightDecayMode() == WeightDecayMode.PROXIMAL;
        if (decoupledOrProximal && numerics.decayConvention() == null) {
            throw new IllegalArgumentException(r + ": numerics.decay_convention is missing (weight decay mode "
                    + numerics.weightDecayMode() + " needs lambda_eta_t or lambda_lr)");
        }
        if (!decoupledOrProximal && numerics.decayConvention() != null) {
            throw new IllegalArgumentException(r + ": numerics.decay_convention does not apply to weight decay mode " + numerics.weightDecayMode());
        }
        if (numerics.weightDecayMode() == WeightDecayMode.NONE && weightDecay != 0) {
            throw new IllegalArgumentException(r + ": weight decay " + weightDecay + " given but numerics.weight_decay_mode is none");
        }
        if (rule == Rule.RMSPROP && numerics.epsPlacement() == EpsPlacement.OUTSIDE_CORRECTED) {
            throw new IllegalArgumentException("rmsprop: eps placement outside_corrected does not apply (RMSProp has no bias correction)");
        }
        if (numerics.initialAccumulator() != null) check("initial accumulator", numerics.initialAccumulator(), 0, Double.POSITIVE_INFINITY);

        Objects.requireNonNull(schedule, "schedule");
        if (nonFiniteGradients == null) nonFiniteGradients = NonFinitePolicy.SKIP;
        groups = groups == null ? List.of() : List.copyOf(groups);
        Set<String> seen = new HashSet<>();
        for (GroupSettings g : groups) {
            if (!seen.add(g.name())) throw new IllegalArgumentException("group '" + g.name() + "' has settings twice");
            if (g.weightDecay() != null && g.weightDecay() != 0 && numerics.weightDecayMode() == WeightDecayMode.NONE) {
                throw new IllegalArgumentException("group '" + g.name() + "': weight decay " + g.weightDecay() + " given but numerics.weight_decay_mode is none");
            }
        }
    }

    /** Throws naming the hyperparameter unless lo <= value < hi (hi may be infinite); NaN is refused. */
    static double check(String name, double value, double lo, double hi) {
        if (!(value >= lo && value < hi)) {
            throw new IllegalArgumentException("invalid " + name + ": " + value + " (must be in [" + lo + ", " + hi + "))");
        }
        return value;
    }

    private static void checkClosed(String name, double value, double lo, double hi) {
        if (!(value >= lo && value <= hi)) {
            throw new IllegalArgumentException("invalid " + name + ": " + value + " (must be in [" + lo + ", " + hi + "])");
        }
    }

    private static void applies(String rule, String name, Object value, boolean applies) {
        if (applies && value == null) throw new IllegalArgumentException(rule + ": " + name + " is missing");
        if (!applies && value != null) throw new IllegalArgumentException(name + " does not apply to " + rule + " (got " + value + ")");
    }

    /** The resolved update as formulas, for logs and results (derived; ignored when reading JSON). */
    @JsonProperty("formula")
    public String formula() {
        return Formulas.of(this);
    }

    /** The per-group settings of group {@code name}, or null when it has none. */
    public GroupSettings group(String name) {
        for (GroupSettings g : groups) if (g.name().equals(name)) return g;
        return null;
    }

    /** The optimizer this setting describes, over {@code arena}. */
    public Optimizer create(ParameterArena arena) {
        return switch (rule) {
            case SGD -> new Sgd(arena, this);
            case MOMENTUM, NESTEROV -> new Momentum(arena, this);
            case RMSPROP -> new RmsProp(arena, this);
            case ADAM, NADAM -> new Adam(arena, this);
        };
    }

    /** A builder starting from this setting. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    // ------------------------------------------------------------------------------------------------
    // JSON
    // ------------------------------------------------------------------------------------------------

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** This setting as pretty JSON (snake_case names, inapplicable fields absent). */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write optimizer settings as JSON: " + e.getMessage(), e);
        }
    }

    /** Reads a setting written by {@link #toJson()} (or by hand), validating it like any other. */
    public static OptimizerConfig fromJson(String json) {
        try {
            return JSON.readValue(json, OptimizerConfig.class);
        } catch (JsonProcessingException e) {
            Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
            throw new IllegalArgumentException("bad optimizer settings JSON: " + cause.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Builder
    // ------------------------------------------------------------------------------------------------

    /**
     * Changes a setting field by field; {@link #build()} validates. Fields that do not apply to the
     * rule stay null; setting one is refused at build time, naming it.
     */
    public static final class Builder {
        private String preset;
        private final Rule rule;
        private double lr;
        private Double momentum, rho, beta1, beta2, eps;
        private double weightDecay;
        private EpsPlacement epsPlacement;
        private Boolean biasCorrection;
        private Double initialAccumulator;
        private WeightDecayMode weightDecayMode;
        private DecayConvention decayConvention;
        private StatePrecision statePrecision;
        private Schedule schedule;
        private NonFinitePolicy nonFinite;
        private final List<GroupSettings> groups = new ArrayList<>();

        Builder(OptimizerConfig c) {
            preset = c.preset;
            rule = c.rule;
            lr = c.lr;
            momentum = c.momentum;
            rho = c.rho;
            beta1 = c.beta1;
            beta2 = c.beta2;
            eps = c.eps;
            weightDecay = c.weightDecay;
            epsPlacement = c.numerics.epsPlacement();
            biasCorrection = c.numerics.biasCorrection();
            initialAccumulator = c.numerics.initialAccumulator();
            weightDecayMode = c.numerics.weightDecayMode();
            decayConvention = c.numerics.decayConvention();
            statePrecision = c.numerics.statePrecision();
            schedule = c.schedule;
            nonFinite = c.nonFiniteGradients;
            groups.addAll(c.groups);
        }

        public Builder preset(String name) { preset = name; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder momentum(double v) { momentum = v; return this; }
        public Builder rho(double v) { rho = v; return this; }
        public Builder beta1(double v) { beta1 = v; return this; }
        public Builder beta2(double v) { beta2 = v; return this; }
        public Builder eps(double v) { eps = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder epsPlacement(EpsPlacement v) { epsPlacement = v; return this; }
        public Builder biasCorrection(boolean v) { biasCorrection = v; return this; }
        public Builder initialAccumulator(double v) { initialAccumulator = v; return this; }
        public Builder statePrecision(StatePrecision v) { statePrecision = v; return this; }
        public Builder schedule(Schedule v) { schedule = v; return this; }
        public Builder nonFiniteGradients(NonFinitePolicy v) { nonFinite = v; return this; }

        /**
         * Sets the weight-decay mode; the convention is needed for DECOUPLED and PROXIMAL (null for
         * the others).
         */
        public Builder weightDecayMode(WeightDecayMode mode, DecayConvention convention) {
            weightDecayMode = mode;
            decayConvention = convention;
            return this;
        }

        /** Adds (or replaces) the overrides of one parameter group. */
        public Builder group(GroupSettings g) {
            groups.removeIf(x -> x.name().equals(g.name()));
            groups.add(g);
            return this;
        }

        public OptimizerConfig build() {
            return new OptimizerConfig(preset, rule, lr, momentum, rho, beta1, beta2, eps, weightDecay,
                    new Numerics(epsPlacement, biasCorrection, initialAccumulator, weightDecayMode, decayConvention, statePrecision),
                    schedule, nonFinite, groups);
        }
    }
}
