package optlab.optim;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import optlab.kernels.DType;

/**
 * The numerical choices of an update rule that papers and libraries make differently (PAPERS.md
 * section 1.3), each explicit. A field that does not apply to a rule is null (and absent from JSON):
 * SGD has no epsilon, Momentum no bias correction, and so on; {@link OptimizerConfig} checks this.
 *
 * @param epsPlacement       where eps enters the denominator (RMSProp, Adam, NAdam)
 * @param biasCorrection     Adam/NAdam: divide by {@code 1 - beta^t} (on) or not (off)
 * @param initialAccumulator RMSProp: v_0, the squared-gradient accumulator's start (TensorFlow 1, hence
 *                           Choi et al.: 1; PyTorch and Keras 2: 0)
 * @param weightDecayMode    how lambda acts on the weights (every rule)
 * @param decayConvention    decoupled and proximal decay: whether the per-step decay is
 *                           {@code lambda * eta_t} or {@code lambda * alpha * eta_t}
 * @param statePrecision     the element type of the optimizer's state buffers and of its arithmetic
 *                           (null for SGD, which has no state)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record Numerics(EpsPlacement epsPlacement, Boolean biasCorrection, Double initialAccumulator,
                       WeightDecayMode weightDecayMode, DecayConvention decayConvention, StatePrecision statePrecision) {

    /**
     * Where eps goes. With {@code v} the raw second-moment accumulator and {@code c2 = 1 - beta2^t}
     * (1 without bias correction):
     * <ul>
     *   <li>INSIDE_SQRT: {@code sqrt(v / c2 + eps)} (Choi et al.'s RMSProp: {@code sqrt(v + eps)});</li>
     *   <li>OUTSIDE_CORRECTED: {@code sqrt(v) / sqrt(c2) + eps}, eps added after bias-correcting v
     *       (PyTorch's Adam, Zhuang et al.);</li>
     *   <li>OUTSIDE_UNCORRECTED: {@code sqrt(v) + eps}, with {@code sqrt(c2)} folded into the step size
     *       instead (TensorFlow 1's Adam, Choi et al.; PyTorch's RMSprop).</li>
     * </ul>
     * With bias correction the last two differ only in how much eps weighs early on:
     * OUTSIDE_UNCORRECTED's eps is effectively {@code eps * sqrt(c2)} in the corrected form.
     */
    public enum EpsPlacement {
        @JsonProperty("inside_sqrt") INSIDE_SQRT,
        @JsonProperty("outside_corrected") OUTSIDE_CORRECTED,
        @JsonProperty("outside_uncorrected") OUTSIDE_UNCORRECTED
    }

    /**
     * How weight decay with coefficient lambda acts; {@code u} is the rule's step (what it subtracts
     * from x) and {@code d} the per-step decay of {@link DecayConvention}:
     * <ul>
     *   <li>NONE: {@code x <- x - u} (lambda must be 0);</li>
     *   <li>L2: the gradient becomes {@code g + lambda * x} before the rule sees it (Adam-L2,
     *       PyTorch's {@code weight_decay} in SGD/Adam/RMSprop);</li>
     *   <li>DECOUPLED: {@code x <- (1 - d) x - u} (AdamW; PyTorch's AdamW with the LAMBDA_LR convention);</li>
     *   <li>PROXIMAL: {@code x <- (x - u) / (1 + d)}, the closed-form proximal step of
     *       {@code (lambda/2)||x||^2} (Zhuang et al.'s AdamProx).</li>
     * </ul>
     */
    public enum WeightDecayMode {
        @JsonProperty("none") NONE,
        @JsonProperty("l2") L2,
        @JsonProperty("decoupled") DECOUPLED,
        @JsonProperty("proximal") PROXIMAL;

        /** The code passed to the fused kernels (NONE 0, L2 1, DECOUPLED 2, PROXIMAL 3). */
        public int code() {
            return ordinal();
        }
    }

    /**
     * The per-step decay d of DECOUPLED and PROXIMAL weight decay. LAMBDA_ETA_T: {@code d = lambda *
     * eta_t} (Loshchilov and Hutter; Zhuang et al.: the paper's default). LAMBDA_LR: {@code d = lambda *
     * alpha * eta_t}, lambda times the current learning rate (PyTorch's {@code torch.optim.AdamW}).
     */
    public enum DecayConvention {
        @JsonProperty("lambda_eta_t") LAMBDA_ETA_T,
        @JsonProperty("lambda_lr") LAMBDA_LR
    }

    /**
     * The optimizer state's element type, which is also the type its arithmetic runs in. With float32
     * parameters, FLOAT64 computes in double and rounds to float32 only when it writes x. Float64
     * parameters (a FLOAT64 arena) need FLOAT64 state (NOTE [float64-parameters] in {@link Optimizer}).
     */
    public enum StatePrecision {
        @JsonProperty("float32") FLOAT32(DType.FLOAT32),
        @JsonProperty("float64") FLOAT64(DType.FLOAT64);

        private final DType dtype;

        StatePrecision(DType dtype) {
            this.dtype = dtype;
        }

        public DType dtype() {
            return dtype;
        }
    }
}
