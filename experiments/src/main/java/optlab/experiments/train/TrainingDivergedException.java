package optlab.experiments.train;

/** The loss became NaN or infinite; the step that produced it was not applied to the weights. */
public final class TrainingDivergedException extends RuntimeException {
    public TrainingDivergedException(String message) {
        super(message);
    }
}
