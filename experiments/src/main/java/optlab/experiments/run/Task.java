package optlab.experiments.run;

import java.util.Map;
import optlab.autograd.Variable;
import optlab.nn.Module;
import optlab.tensor.Tensor;

/**
 * What a {@link Trainer} needs of a workload's data and model, for one run: the training stream as positions
 * (epoch, batch) that a resumed run can seek to, the loss of the next batch, and the evaluation of every split. Two
 * kinds: image classification ({@link ImageTask}) and the character language model ({@link TextTask}).
 */
interface Task extends AutoCloseable {
    /** The model (on its device, in its dtype; the trainer packs it). */
    Module model();

    /** Training steps in one pass over the training data. */
    int stepsPerEpoch();

    /** Examples of one training step (images, or tokens), for rates. */
    long examplesPerStep();

    /** The loss of guessing: ln(classes), or ln(vocabulary size). */
    double chanceLoss();

    /** One line on the data (sizes of the splits), printed at start. */
    String describe();

    /** The data as recorded in config.json (sizes, vocabulary, what is synthetic, ...). */
    Map<String, Object> record();

    /**
     * Positions the training stream at batch {@code batch} (0-based) of epoch {@code epoch} (1-based). At batch 0 a
     * language model's carried state starts from zeros.
     */
    void seek(int epoch, int batch);

    /**
     * The training loss (mean cross-entropy with {@code labelSmoothing}, before any multiplier) of the next batch, its
     * graph built in the current scope. Model in training mode.
     */
    Variable nextLoss(double labelSmoothing);

    /** After the optimizer step of the batch {@link #nextLoss} took (a language model keeps its new state). */
    void afterStep();

    /** Loss, accuracy (and a language model's perplexity) of every split, keys {@code <split>_<metric>}. */
    Map<String, Double> evaluate();

    /** Tensors a checkpoint must hold besides the model and optimizer (a language model's carried state), live. */
    Map<String, Tensor> carriedState();

    @Override
    void close();
}
