package optlab.experiments.train;

import optlab.autograd.Functional;
import optlab.autograd.Grad;
import optlab.autograd.Variable;
import optlab.experiments.data.Batches;
import optlab.experiments.data.ImageDataset;
import optlab.kernels.Device;
import optlab.nn.Module;
import optlab.optim.Optimizer;
import optlab.tensor.Scope;

/**
 * The training loop of an image classifier with softmax cross-entropy. Each step runs inside a
 * {@link Scope}, so its activations and gradients are freed when it ends (NOTE [lifetimes]). Batches
 * are made on the host and moved to the model's device ({@link Module#device()}, NOTE
 * [device-placement]) at the start of their step.
 */
public final class ClassifierTraining {
    private ClassifierTraining() {}

    /** Mean training loss of an epoch and how many images it saw. */
    public record EpochResult(double meanLoss, long images, long steps) {}

    /**
     * One pass over {@code batches}: forward, loss, backward, update. A NaN or infinite loss stops
     * training with a {@link TrainingDivergedException} before that step touches the weights.
     */
    public static EpochResult trainEpoch(Module model, Optimizer opt, Batches batches, int epoch, Progress progress) {
        model.train();
        Device device = model.device();
        double lossSum = 0;
        long images = 0, steps = 0;
        int index = 0;
        for (Batches.Batch batch : batches) {
            try (Scope step = Scope.open(); batch) {
                Variable logits = model.forward(new Variable(batch.images().to(device)));
                Variable loss = Functional.crossEntropy(logits, batch.labels().to(device));
                double value = loss.item();
                if (!Double.isFinite(value)) {
                    throw new TrainingDivergedException("loss is " + value + " at epoch " + epoch + ", batch " + index
                            + " (optimizer step " + (opt.stepCount() + 1) + "); that step was not applied. Lower the learning rate?");
                }
                opt.zeroGrad();
                loss.backward();
                opt.step();
                lossSum += value * batch.size();
                images += batch.size();
                steps++;
                progress.step(batch.size(), value);
            }
            index++;
        }
        return new EpochResult(images == 0 ? Double.NaN : lossSum / images, images, steps);
    }

    /** Correct predictions and the mean loss over a dataset, in inference mode. */
    public record Evaluation(long correct, long total, double meanLoss) {
        public double accuracy() {
            return (double) correct / total;
        }
    }

    public static Evaluation evaluate(Module model, ImageDataset data, int batchSize) {
        model.eval();
        Device device = model.device();
        long correct = 0, total = 0;
        double lossSum = 0;
        try (Grad.Mode off = Grad.disabled()) {
            for (Batches.Batch batch : new Batches(data, batchSize, false)) {
                try (Scope s = Scope.open(); batch) {
                    Variable logits = model.forward(new Variable(batch.images().to(device)));
                    lossSum += Functional.crossEntropy(logits, batch.labels().to(device)).item() * batch.size();
                    int[] predicted = logits.data().argmax(1, false).toIntArray(), labels = batch.labels().toIntArray();
                    for (int i = 0; i < labels.length; i++) if (predicted[i] == labels[i]) correct++;
                    total += labels.length;
                }
            }
        } finally {
            model.train();
        }
        return new Evaluation(correct, total, lossSum / total);
    }
}
