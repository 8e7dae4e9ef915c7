package optlab.experiments.run;

import java.util.LinkedHashMap;
import java.util.Map;
import optlab.autograd.Functional;
import optlab.autograd.Grad;
import optlab.autograd.Variable;
import optlab.autograd.functions.CrossEntropy;
import optlab.experiments.data.Batches;
import optlab.experiments.data.HostBatch;
import optlab.experiments.data.ImageDataset;
import optlab.experiments.data.ImageLoader;
import optlab.experiments.data.ImageTransform;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.nn.Module;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;

/**
 * Image classification with softmax cross-entropy: minibatches from an {@link ImageLoader} (its order and augmentation
 * functions of (data_seed, epoch, position), made ahead on a background thread), moved to the model's device each step.
 * Evaluation runs in inference mode without augmentation on the training subset ({@code train_eval_size} images, the
 * first of the training split, as DeepOBS's train_eval set), the validation split and the test set.
 */
final class ImageTask implements Task {
    private final Module model;
    private final ImageLoader train;
    private final Map<String, ImageLoader> eval = new LinkedHashMap<>();
    private final int classes;
    private final String describe;
    private final Map<String, Object> record;
    private ImageLoader.Epoch epoch;
    private final Device device;

    /**
     * @param trainSplit the training part (after the validation split), {@code valid} the held-out part (maybe empty)
     */
    ImageTask(Module model, ImageDataset trainSplit, ImageDataset valid, ImageDataset test, ImageTransform trainTransform,
              ImageTransform evalTransform, RunConfig c, DType dtype, Map<String, Object> dataRecord) {
        this.model = model;
        this.device = model.device();
        this.classes = trainSplit.classes();
        int n = trainSplit.size();
        if (n == 0) throw new IllegalArgumentException("the training split of " + trainSplit.name() + " is empty");
        train = new ImageLoader(trainSplit, c.batchSize(), true, c.dropLast(), trainTransform, dtype, c.dataSeed());
        if (train.batchesPerEpoch() == 0) {
            throw new IllegalArgumentException("batch_size " + c.batchSize() + " is larger than the " + n + " training images and drop_last is on: "
                    + "an epoch has no batch");
        }
        int trainEval = Math.min(n, c.trainEvalSize() == null ? 10_000 : c.trainEvalSize());
        if (trainEval > 0) eval.put("train", new ImageLoader(trainSplit.head(trainEval), c.evalBatchSize(), false, false, evalTransform, dtype, 0));
        if (valid.size() > 0) eval.put("valid", new ImageLoader(valid, c.evalBatchSize(), false, false, evalTransform, dtype, 0));
        eval.put("test", new ImageLoader(test, c.evalBatchSize(), false, false, evalTransform, dtype, 0));
        describe = String.format("%s: %,d training images (%d steps per epoch of %d), %,d validation, %,d test; train loss measured on %,d",
                test.name().replaceFirst("/[^/]*$", ""), n, train.batchesPerEpoch(), c.batchSize(), valid.size(), test.size(), trainEval);
        record = new LinkedHashMap<>(dataRecord);
        record.put("train_images", n);
        record.put("valid_images", valid.size());
        record.put("test_images", test.size());
        record.put("train_eval_images", trainEval);
        record.put("classes", classes);
        record.put("train_transform", trainTransform.toString());
        record.put("eval_transform", evalTransform.toString());
    }

    @Override
    public Module model() {
        return model;
    }

    @Override
    public int stepsPerEpoch() {
        return train.batchesPerEpoch();
    }

    @Override
    public long examplesPerStep() {
        return train.batchSize();
    }

    @Override
    public double chanceLoss() {
        return Math.log(classes);
    }

    @Override
    public String describe() {
        return describe;
    }

    @Override
    public Map<String, Object> record() {
        return record;
    }

    @Override
    public void seek(int epochNumber, int batch) {
        if (epoch != null) epoch.close();
        epoch = train.epoch(epochNumber, batch);
    }

    @Override
    public Variable nextLoss(double labelSmoothing) {
        if (epoch == null || !epoch.hasNext()) throw new IllegalStateException("no training batch left: seek first");
        model.train();
        HostBatch hb = epoch.next();
        Batches.Batch b = hb.toTensors(); // tensors of the current (step) scope
        Tensor x = b.images().to(device), y = b.labels().to(device);
        Variable logits = model.forward(new Variable(x));
        return Functional.crossEntropy(logits, y, labelSmoothing, CrossEntropy.Reduction.MEAN);
    }

    @Override
    public void afterStep() {}

    @Override
    public Map<String, Double> evaluate() {
        Map<String, Double> out = new LinkedHashMap<>();
        model.eval();
        try (Grad.Mode off = Grad.disabled()) {
            boolean first = true;
            for (var e : eval.entrySet()) {
                if (!first) Hooks.reached("mid-eval");
                first = false;
                long correct = 0, total = 0;
                double lossSum = 0;
                try (ImageLoader.Epoch all = e.getValue().epoch(1)) {
                    for (HostBatch hb : all) {
                        try (Scope s = Scope.open()) {
                            Batches.Batch b = hb.toTensors();
                            Variable logits = model.forward(new Variable(b.images().to(device)));
                            lossSum += Functional.crossEntropy(logits, b.labels().to(device)).item() * hb.size();
                            int[] predicted = logits.data().argmax(1, false).toIntArray(), labels = hb.labels();
                            for (int i = 0; i < labels.length; i++) if (predicted[i] == labels[i]) correct++;
                            total += labels.length;
                        }
                    }
                }
                out.put(e.getKey() + "_loss", lossSum / total);
                out.put(e.getKey() + "_accuracy", (double) correct / total);
            }
        } finally {
            model.train();
        }
        return out;
    }

    @Override
    public Map<String, Tensor> carriedState() {
        return Map.of();
    }

    @Override
    public void close() {
        if (epoch != null) epoch.close();
    }
}
