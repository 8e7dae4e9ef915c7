package optlab.experiments.data;

/**
 * A training set cut in two: the images a run trains on and the held-out images it is validated on
 * (Choi et al. select hyperparameters on a validation set carved out of the training set and report
 * the official test set).
 */
public record Split(ImageDataset train, ImageDataset valid) {
    /**
     * Holds out {@code round(validFraction * n)} of the n images of {@code full}: the first that many
     * entries of {@link Batches#permutation Batches.permutation(n, seed)} are the validation images,
     * the others the training images. Both parts keep the images in their order in {@code full}.
     * Fraction 0 gives all of {@code full} (copied) for training and an empty validation set.
     *
     * @param validFraction in [0, 1); the training part must keep at least one image
     */
    public static Split holdOut(ImageDataset full, double validFraction, long seed) {
        if (!(validFraction >= 0 && validFraction < 1)) {
            throw new IllegalArgumentException(full.name() + ": the validation fraction must be in [0, 1), got " + validFraction);
        }
        int n = full.size(), k = (int) Math.round(validFraction * n);
        if (k == n) {
            throw new IllegalArgumentException(full.name() + ": holding out " + validFraction + " of " + n + " images leaves none to train on");
        }
        boolean[] held = new boolean[n];
        int[] p = Batches.permutation(n, seed);
        for (int i = 0; i < k; i++) held[p[i]] = true;
        int[] train = new int[n - k], valid = new int[k];
        for (int i = 0, t = 0, v = 0; i < n; i++) {
            if (held[i]) valid[v++] = i;
            else train[t++] = i;
        }
        String tag = "[holdOut " + validFraction + " seed " + seed + "]";
        return new Split(full.subset(train, full.name() + tag + ".train"), full.subset(valid, full.name() + tag + ".valid"));
    }

    @Override
    public String toString() {
        return "Split[train=" + train.name() + " (" + train.size() + " images), valid=" + valid.name() + " (" + valid.size() + " images)]";
    }
}
