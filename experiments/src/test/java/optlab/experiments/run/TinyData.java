package optlab.experiments.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import optlab.experiments.data.Cifar;
import optlab.experiments.data.ImageDataset;

/** Small data sets the run tests write: CIFAR files in the official format and a text. */
public final class TinyData {
    private TinyData() {}

    /** Writes {@code train} training and {@code test} test images of CIFAR {@code v} (random pixels and labels) into dir. */
    public static Path cifar(Path root, Cifar.Variant v, int train, int test, long seed) throws IOException {
        Path dir = root.resolve(v.directoryName());
        Files.createDirectories(dir);
        SplittableRandom r = new SplittableRandom(seed);
        List<String> trainFiles = v.trainFiles();
        int per = (train + trainFiles.size() - 1) / trainFiles.size(), left = train;
        for (String f : trainFiles) {
            int n = Math.max(1, Math.min(per, left));
            Cifar.write(v, dir.resolve(f), images(v, n, r));
            left -= n;
        }
        Cifar.write(v, dir.resolve(v.testFile()), images(v, test, r));
        return dir;
    }

    private static ImageDataset images(Cifar.Variant v, int n, SplittableRandom r) {
        byte[] px = new byte[n * Cifar.IMAGE_BYTES];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(v.classes());
            // a little structure: the label shifts the mean of the red channel, so a model can learn something
            for (int j = 0; j < Cifar.IMAGE_BYTES; j++) px[i * Cifar.IMAGE_BYTES + j] = (byte) (r.nextInt(128) + (j < 1024 ? labels[i] % 100 : 0));
        }
        return new ImageDataset("tiny", px, labels, 3, 32, 32, v.classes());
    }

    /** A text of about {@code chars} characters: sentences drawn from a few, so that a language model can learn it. */
    public static Path text(Path root, int chars, long seed) throws IOException {
        String[] sentences = {"In the beginning was the word. ", "And the earth was without form, and void. ",
            "Let there be light: and there was light. ", "The quick brown fox jumps over the lazy dog. ",
            "Über alles: naïve café, déjà vu. ", "Seven seals, twelve tribes, forty days.\n"};
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < chars) sb.append(sentences[r.nextInt(sentences.length)]);
        Path f = root.resolve("tiny.txt");
        Files.writeString(f, sb.substring(0, chars));
        return f;
    }

    /** The flags that point a workload at tiny data written under {@code root} (written on first use). */
    public static List<String> flagsFor(Workload w, Path root) throws IOException {
        List<String> a = new ArrayList<>();
        switch (w.data()) {
            case CIFAR10 -> a.addAll(List.of("--data-dir", cifar(root, Cifar.Variant.CIFAR10, 40, 20, 1).toString()));
            case CIFAR100 -> a.addAll(List.of("--data-dir", cifar(root, Cifar.Variant.CIFAR100, 40, 20, 2).toString()));
            case TEXT -> a.addAll(List.of("--corpus", text(root, 20_000, 3).toString(), "--seq-length", "10"));
            case IMAGENET_SYNTHETIC -> a.addAll(List.of("--image-size", "32", "--synthetic-images", "16"));
            case FASHION_MNIST -> { } // the real data (Debian's dataset-fashion-mnist; CI installs it)
        }
        return a;
    }
}
