package optlab.experiments.run;

import java.util.Map;
import optlab.nn.Module;
import optlab.tensor.Generator;

/**
 * One workload of the papers: data + model + loss + their paper's defaults for everything else (batch size, budget,
 * eval cadence, augmentation, a default optimizer), with the source of each default ({@link #sources}). A run is a
 * workload plus a {@link RunConfig} (EXPERIMENTS.md section 1); {@link Workloads} lists them.
 *
 * @param name     the registry name, DeepOBS-style {@code <data>_<model>}
 * @param paper    whose workload it is
 * @param summary  one line: data, model, what is measured
 * @param data     which data it trains on
 * @param model    makes the model: classes (or vocabulary), the initialization's and the dropout's generators
 * @param defaults the workload's settings, each overridable by a config file or a flag
 * @param sources  where each default came from, by config key (and {@code "model"}, {@code "data"})
 * @param notes    what differs from the paper's setup and why, or null
 */
public record Workload(String name, String paper, String summary, Data data, ModelFactory model, RunConfig defaults,
                       Map<String, String> sources, String notes) {

    /** The data a workload trains on. */
    public enum Data {
        /** Fashion-MNIST, Debian's dataset-fashion-mnist (the official IDX files). */
        FASHION_MNIST,
        /** CIFAR-10, the official binary distribution. */
        CIFAR10,
        /** CIFAR-100, the official binary distribution. */
        CIFAR100,
        /** Any UTF-8 text, read as characters (default: the King James Bible of Debian's bible-kjv). */
        TEXT,
        /** A synthetic stand-in for ImageNet: seeded random images and labels (no ImageNet pipeline is built). */
        IMAGENET_SYNTHETIC;

        /** The number of classes of an image data set (a text's vocabulary comes from the text: 0 here). */
        public int classes() {
            return switch (this) {
                case FASHION_MNIST, CIFAR10 -> 10;
                case CIFAR100 -> 100;
                case IMAGENET_SYNTHETIC -> 1000;
                case TEXT -> 0;
            };
        }
    }

    /** Builds the model: {@code classes} is the number of classes, or the vocabulary size of a language model. */
    @FunctionalInterface
    public interface ModelFactory {
        Module create(int classes, Generator init, Generator dropout);
    }

    public Workload {
        sources = Map.copyOf(sources);
        if (defaults.workload() != null) throw new IllegalArgumentException(name + ": the defaults must not name a workload");
    }

    /** True for the character language model (token streams, carried LSTM state, perplexity). */
    public boolean isLanguageModel() {
        return data == Data.TEXT;
    }
}
