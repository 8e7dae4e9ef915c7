package optlab.optim;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * A learning-rate schedule: the multiplier {@code eta_t} of the base learning rate {@code alpha} at
 * step {@code t = 1, 2, ...} (the current learning rate is {@code alpha * eta_t}; PAPERS.md section 1).
 * A schedule is a pure function of the step count, so restoring an optimizer's step count
 * ({@link Optimizer#restoreStepCount}) restores its schedule too.
 *
 * <p>Per-epoch schedules are given the number of steps per epoch and hold the multiplier constant
 * within an epoch: step t lies in epoch {@code e = (t - 1) / stepsPerEpoch} (0-based). Per-step
 * schedules count {@code s = t - 1} steps already taken, so the first update always uses
 * {@code eta = 1} (warmup aside), as TensorFlow's {@code global_step} and PyTorch's schedulers do.
 *
 * <p>Every schedule is a record that Jackson writes and reads with a {@code "kind"} field, so a run's
 * JSON settings hold the whole schedule.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
    @JsonSubTypes.Type(value = Schedule.Constant.class, name = "constant"),
    @JsonSubTypes.Type(value = Schedule.Step.class, name = "step"),
    @JsonSubTypes.Type(value = Schedule.Cosine.class, name = "cosine"),
    @JsonSubTypes.Type(value = Schedule.LinearDecay.class, name = "linear_decay"),
    @JsonSubTypes.Type(value = Schedule.Warmup.class, name = "warmup")
})
public sealed interface Schedule permits Schedule.Constant, Schedule.Step, Schedule.Cosine, Schedule.LinearDecay, Schedule.Warmup {

    /** The multiplier eta_t at step t >= 1. */
    double multiplier(long t);

    /** Whether a schedule counts steps or epochs. */
    enum Unit {
        @JsonProperty("step") STEP,
        @JsonProperty("epoch") EPOCH
    }

    /** eta_t = 1. */
    static Schedule constant() {
        return new Constant();
    }

    /** eta_t = factor^floor(s / every), s the steps (or epochs) completed before step t. */
    static Schedule stepDecay(Unit unit, int stepsPerEpoch, int every, double factor) {
        return new Step(unit, stepsPerEpoch, every, factor);
    }

    /** Cosine from 1 down to {@code finalFraction} over {@code length} steps (or epochs). */
    static Schedule cosine(Unit unit, int stepsPerEpoch, long length, double finalFraction) {
        return new Cosine(unit, stepsPerEpoch, length, finalFraction);
    }

    /** Linear decay, init2winit's {@code polynomial} schedule with power 1 (see {@link LinearDecay}). */
    static Schedule linearDecay(long totalSteps, double decayStepsFactor, double endFactor) {
        return new LinearDecay(totalSteps, decayStepsFactor, endFactor, 1);
    }

    /** init2winit's {@code polynomial} schedule with any power > 0 (see {@link LinearDecay}). */
    static Schedule polynomialDecay(long totalSteps, double decayStepsFactor, double endFactor, double power) {
        return new LinearDecay(totalSteps, decayStepsFactor, endFactor, power);
    }

    /** Linear warmup over {@code steps} steps in front of {@code then}. */
    static Schedule warmup(long steps, Schedule then) {
        return new Warmup(steps, then);
    }

    /** The 0-based count of steps or epochs completed before step t. */
    private static long completed(Unit unit, int stepsPerEpoch, long t) {
        if (t < 1) throw new IllegalArgumentException("step t must be >= 1, got " + t);
        return unit == Unit.STEP ? t - 1 : (t - 1) / stepsPerEpoch;
    }

    private static void checkUnit(String kind, Unit unit, int stepsPerEpoch) {
        if (unit == null) throw new IllegalArgumentException(kind + " schedule: unit must be STEP or EPOCH");
        if (unit == Unit.EPOCH && stepsPerEpoch < 1) {
            throw new IllegalArgumentException(kind + " schedule: invalid steps_per_epoch: " + stepsPerEpoch + " (must be >= 1 for a per-epoch schedule)");
        }
    }

    private static void checkFraction(String kind, String name, double value, boolean zeroAllowed) {
        if (!(value >= 0 && value <= 1) || (!zeroAllowed && value == 0)) {
            throw new IllegalArgumentException(kind + " schedule: invalid " + name + ": " + value
                    + " (must be in " + (zeroAllowed ? "[0, 1]" : "(0, 1]") + ")");
        }
    }

    /** {@code eta_t = 1} for every t. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Constant() implements Schedule {
        @Override
        public double multiplier(long t) {
            completed(Unit.STEP, 1, t);
            return 1;
        }
    }

    /**
     * Step decay: {@code eta_t = factor^floor(s / every)} with {@code s} the steps (unit STEP) or epochs
     * (unit EPOCH) completed before step t. PyTorch's {@code StepLR(step_size=every, gamma=factor)}
     * stepped once per epoch (EPOCH) or once per batch (STEP). {@code stepsPerEpoch} is ignored (and
     * recorded as given) for unit STEP.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Step(Unit unit, int stepsPerEpoch, int every, double factor) implements Schedule {
        public Step {
            checkUnit("step", unit, stepsPerEpoch);
            if (every < 1) throw new IllegalArgumentException("step schedule: invalid every: " + every + " (must be >= 1)");
            if (!(factor > 0 && factor <= 1)) throw new IllegalArgumentException("step schedule: invalid factor: " + factor + " (must be in (0, 1])");
        }

        @Override
        public double multiplier(long t) {
            return Math.pow(factor, completed(unit, stepsPerEpoch, t) / every);
        }
    }

    /**
     * Cosine annealing: {@code eta_t = f + (1 - f) (1 + cos(pi min(s, L) / L)) / 2} with {@code f =
     * finalFraction}, {@code L = length} and {@code s} the steps or epochs completed before step t; it
     * stays at f after L. PyTorch's {@code CosineAnnealingLR(T_max=L, eta_min=f*alpha)} stepped once per
     * epoch (EPOCH) or batch (STEP), without the restart PyTorch's recursive form makes after T_max.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Cosine(Unit unit, int stepsPerEpoch, long length, double finalFraction) implements Schedule {
        public Cosine {
            checkUnit("cosine", unit, stepsPerEpoch);
            if (length < 1) throw new IllegalArgumentException("cosine schedule: invalid length: " + length + " (must be >= 1)");
            checkFraction("cosine", "final_fraction", finalFraction, true);
        }

        @Override
        public double multiplier(long t) {
            long s = Math.min(completed(unit, stepsPerEpoch, t), length);
            return finalFraction + (1 - finalFraction) * (1 + Math.cos(Math.PI * s / length)) / 2;
        }
    }

    /**
     * Polynomial decay as Google's init2winit defines it ({@code schedules.polynomial_schedule}, "same
     * behavior as tf.train.polynomial_decay"), used by Choi et al. with power 1 (linear decay), as a
     * multiplier of the base learning rate:
     * <pre>
     *   D     = max(1, round(total_steps * decay_steps_factor))    decay length in steps
     *   s     = t - 1                                              steps already taken
     *   eta_t = (1 - end_factor) * (1 - min(s, D) / D)^power + end_factor
     * </pre>
     * which is init2winit's {@code lr(s) = (base_lr - end_lr) (1 - min(s, D)/D)^power + end_lr} with
     * {@code end_lr = base_lr * end_factor}, divided by base_lr. So eta is 1 at the first step, reaches
     * end_factor after D steps and stays there; power 1 is the straight line
     * {@code 1 - (1 - end_factor) min(s, D) / D}.
     *
     * <p>Rounding of D: init2winit truncates ({@code int(max_training_updates * decay_steps_factor)});
     * we round to the nearest step, as this schedule always has, and take at least one step (init2winit
     * would divide by zero at D = 0). The two differ only where {@code total_steps * decay_steps_factor}
     * has a fractional part of at least 0.5 (then our D is one more). UNVERIFIED detail (PAPERS.md):
     * whether Choi et al. count from step 0 or 1; this is TensorFlow's convention (global_step = t - 1).
     *
     * @param totalSteps       T, the training run's length in steps (init2winit's max_training_updates), >= 1
     * @param decayStepsFactor the fraction of T over which eta decays, in (0, 1]
     * @param endFactor        eta after the decay, in [0, 1]
     * @param power            the polynomial's power, > 0 (1: linear)
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record LinearDecay(long totalSteps, double decayStepsFactor, double endFactor, double power) implements Schedule {
        public LinearDecay {
            if (totalSteps < 1) throw new IllegalArgumentException("linear_decay schedule: invalid total_steps: " + totalSteps + " (must be >= 1)");
            checkFraction("linear_decay", "decay_steps_factor", decayStepsFactor, false);
            checkFraction("linear_decay", "end_factor", endFactor, true);
            if (!(power > 0) || Double.isInfinite(power)) {
                throw new IllegalArgumentException("linear_decay schedule: invalid power: " + power + " (must be > 0 and finite; 1 is linear)");
            }
        }

        /** D, the decay length in steps. */
        public long decaySteps() {
            return Math.max(1, Math.round(decayStepsFactor * totalSteps));
        }

        @Override
        public double multiplier(long t) {
            long d = decaySteps();
            double remaining = 1 - (double) Math.min(completed(Unit.STEP, 1, t), d) / d;
            return (1 - endFactor) * Math.pow(remaining, power) + endFactor;
        }
    }

    /**
     * Linear warmup: {@code eta_t = min(1, t / steps) * then(t)}: 1/steps of the inner schedule's value
     * at the first step, the full value from step {@code steps} on. The inner schedule keeps counting
     * from step 1 (warmup multiplies, it does not shift).
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Warmup(long steps, Schedule then) implements Schedule {
        public Warmup {
            if (steps < 1) throw new IllegalArgumentException("warmup schedule: invalid steps: " + steps + " (must be >= 1)");
            if (then == null) throw new IllegalArgumentException("warmup schedule: the schedule after warmup ('then') is missing");
        }

        @Override
        public double multiplier(long t) {
            completed(Unit.STEP, 1, t);
            return Math.min(1.0, (double) t / steps) * then.multiplier(t);
        }
    }
}
