package optlab.experiments.run;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.kernels.Backend;
import optlab.kernels.DType;
import optlab.nn.ParameterArena;
import optlab.optim.Optimizer;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * Zhuang et al.'s update histograms (their utils/draw_histogram.py), recorded in a run's metrics at chosen steps
 * ({@code histogram_every_steps}, {@code histogram_every_epochs}): every coordinate's |update|, |gradient| and
 * |parameter| binned by floor(log2 |v|), values clipped to [1e-8, ...) (so bin {@value #MIN_EXPONENT}, which holds
 * 1e-8, is the lowest) and to the top bin {@value #MAX_EXPONENT}, over the whole model and per parameter.
 *
 * <p>NOTE [histogram-probe]: the counts are computed where the data lives: {@code Backend.log2Histogram} (a kernel on
 * a GPU) per parameter range of the flat arena, and only the counts (a few dozen integers per parameter) come back to
 * the host. The update is the optimizer's own (Optimizer#computeUpdate: for AdamW and AdamProx without the decoupled
 * decay, for Adam-L2 the whole update with its L2 term), recomputed after the step from a copy of the weights taken
 * before it. The gradient is the one the step used (after DeepOBS's L2 term, where a workload has one), the parameter
 * the value before the step. A probe costs one copy of the weights, one update kernel and three histogram passes over
 * the model, at probe steps only.
 *
 * <p>Record: {@code {"kind":"histogram","step":t,"epoch":e,"min_exponent":-27,"max_exponent":20,"update":{"all":[...],
 * "layers":{"conv1.weight":[...],...}},"grad":{...},"param":{...}}}: each array holds the counts of bins min..max
 * and, last, of non-finite values. A skipped step (a non-finite gradient) records no update.
 */
final class HistogramProbe {
    /** floor(log2(1e-8)) = -27: 1e-8 lies in [2^-27, 2^-26). */
    static final int MIN_EXPONENT = -27;
    /** |v| >= 2^20 goes to the top bin. */
    static final int MAX_EXPONENT = 20;
    static final int SLOTS = MAX_EXPONENT - MIN_EXPONENT + 2;

    private final ParameterArena arena;
    private final Optimizer opt;
    private Tensor xOld;
    private Map<String, Object> grad, param;

    HistogramProbe(ParameterArena arena, Optimizer opt) {
        this.arena = arena;
        this.opt = opt;
    }

    /** Whether step t (1-based) is probed: every {@code everySteps} steps from the first, or at the first step of every Nth epoch. */
    static boolean due(long t, RunConfig c, int stepsPerEpoch) {
        if (c.histogramEverySteps() != null && c.histogramEverySteps() > 0) return (t - 1) % c.histogramEverySteps() == 0;
        if (c.histogramEveryEpochs() != null && c.histogramEveryEpochs() > 0) return (t - 1) % ((long) c.histogramEveryEpochs() * stepsPerEpoch) == 0;
        return false;
    }

    /** Before the optimizer's step, with the step's gradients in the arena: the gradient and parameter counts, and a copy of x. */
    void beforeStep() {
        grad = counts(arena.grads());
        param = counts(arena.values());
        xOld = arena.values().copy(); // the caller's step scope frees it
    }

    /** After the step: the record's fields (the update's counts when the step applied one). */
    Map<String, Object> afterStep(boolean applied) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("min_exponent", MIN_EXPONENT);
        rec.put("max_exponent", MAX_EXPONENT);
        if (applied) {
            try (Tensor u = Tensor.empty(arena.values().shape(), arena.values().dtype(), arena.values().device())) {
                if (opt.computeUpdate(xOld, u)) rec.put("update", counts(u));
            }
        } else {
            rec.put("update_skipped", "the step was skipped for a non-finite gradient");
        }
        rec.put("grad", grad);
        rec.put("param", param);
        xOld = null;
        return rec;
    }

    /** The whole-model and per-parameter counts of |flat| over the arena's entries, computed on flat's device. */
    Map<String, Object> counts(Tensor flat) {
        Backend b = flat.backend();
        List<ParameterArena.Entry> entries = arena.entries();
        try (Tensor c = Tensor.zeros(Shape.of(entries.size() * SLOTS), DType.INT32, flat.device())) {
            for (int i = 0; i < entries.size(); i++) {
                ParameterArena.Entry e = entries.get(i);
                b.log2Histogram(e.numel(), flat.ptr().plus(e.offset()), MIN_EXPONENT, MAX_EXPONENT, c.ptr().plus(i * SLOTS));
            }
            int[] host = c.toIntArray(); // the counts only: entries x SLOTS integers
            long[] all = new long[SLOTS];
            Map<String, long[]> layers = new LinkedHashMap<>();
            for (int i = 0; i < entries.size(); i++) {
                long[] l = new long[SLOTS];
                for (int j = 0; j < SLOTS; j++) {
                    l[j] = host[i * SLOTS + j];
                    all[j] += l[j];
                }
                layers.put(entries.get(i).name(), l);
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("all", all);
            out.put("layers", layers);
            return out;
        }
    }
}
