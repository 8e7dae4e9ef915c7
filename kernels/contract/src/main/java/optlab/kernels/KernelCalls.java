package optlab.kernels;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * How many calls each kernel variant served on one backend, keyed {@code op=variant} as
 * {@link KernelChoices.Choice#toString()} writes it ({@code gemm=cpu_sgemm}, {@code conv2d=java:my.Conv}): what
 * ran, to record beside what was chosen (NOTE [kernel-choices]). A call of a multi-method family counts once
 * per method call (a convolution's forward, backward-data and backward-filter are three).
 */
public final class KernelCalls {
    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

    /** The counter of {@code choice}; backends look it up once per choice and increment it per call. */
    public LongAdder counter(KernelChoices.Choice choice) {
        return counter(choice.toString());
    }

    public LongAdder counter(String key) {
        return counts.computeIfAbsent(key, k -> new LongAdder());
    }

    /** The counts so far, sorted by key, zero counts left out. */
    public Map<String, Long> snapshot() {
        Map<String, Long> out = new TreeMap<>();
        counts.forEach((k, v) -> {
            long n = v.sum();
            if (n != 0) out.put(k, n);
        });
        return out;
    }

    /** Sets every count to zero. */
    public void reset() {
        counts.values().forEach(LongAdder::reset);
    }
}
