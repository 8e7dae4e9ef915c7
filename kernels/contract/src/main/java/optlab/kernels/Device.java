package optlab.kernels;

/**
 * Where a buffer lives: the host ({@code cpu}) or a CUDA device ({@code cuda:0}).
 * Parsed from and printed as PyTorch's device strings.
 */
public record Device(Kind kind, int index) {
    public enum Kind { CPU, CUDA, REFERENCE }

    public static final Device CPU = new Device(Kind.CPU, 0);

    /**
     * The double-precision reference as a device ({@code optlab.kernels.reference.ReferenceBackend}): every primitive
     * answered by the plain reference loops, FLOAT32 values rounded once per output. Slow; for comparing a step or a
     * short run against the engine's own kernels.
     */
    public static final Device REFERENCE = new Device(Kind.REFERENCE, 0);

    public Device {
        if (index < 0) throw new IllegalArgumentException("device index must be >= 0, got " + index);
    }

    public static Device cuda(int index) {
        return new Device(Kind.CUDA, index);
    }

    /** Parses {@code "cpu"}, {@code "cuda"} or {@code "cuda:N"}. */
    public static Device parse(String s) {
        String t = s.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("cpu")) return CPU;
        if (t.equals("reference")) return REFERENCE;
        if (t.equals("cuda")) return cuda(0);
        if (t.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(t.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("not a device: '" + s + "' (expected cpu, cuda, cuda:N or reference)");
    }

    @Override
    public String toString() {
        return switch (kind) {
            case CPU -> "cpu";
            case CUDA -> "cuda:" + index;
            case REFERENCE -> "reference";
        };
    }
}
