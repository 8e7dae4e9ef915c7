package optlab.optim;

import optlab.nn.ParameterArena;
import optlab.tensor.Tensor;

/**
 * Finds a NaN or infinite gradient before an update writes anything: one reduction pass over the flat
 * gradients on their own device, then, only when something is wrong, a host scan to name the element.
 *
 * <p>Why a sum: NaN and infinities propagate through addition in any order (Inf + finite = Inf,
 * Inf - Inf = NaN), so the sum of the gradients is finite only if every gradient is. The converse can
 * fail (finite values whose sum overflows), which costs only the host scan that then finds nothing.
 * The sum runs as (rows, COLUMNS) column sums and a sum of those, so the backend's reduction runs in
 * parallel with contiguous loads.
 */
final class GradientCheck {
    private GradientCheck() {}

    private static final int COLUMNS = 4096;

    /** -1 if every element of the flat tensor is finite, else the index of the first that is not. */
    static int firstNonFinite(Tensor flat) {
        if (sumIsFinite(flat)) return -1;
        float[] host = flat.toFloatArray();
        for (int i = 0; i < host.length; i++) if (!Float.isFinite(host[i])) return i;
        return -1; // the sum overflowed, but every value is finite
    }

    static boolean sumIsFinite(Tensor flat) {
        int n = flat.numel();
        int rows = n / COLUMNS;
        double total = 0;
        if (rows >= 4) {
            try (Tensor body = flat.narrow(0, 0, rows * COLUMNS); Tensor table = body.view(rows, COLUMNS);
                 Tensor columns = table.sum(0, false); Tensor s = columns.sum()) {
                total += s.item();
            }
        } else {
            rows = 0;
        }
        int rest = n - rows * COLUMNS;
        if (rest > 0) {
            try (Tensor tail = flat.narrow(0, rows * COLUMNS, rest); Tensor s = tail.sum()) {
                total += s.item();
            }
        }
        return Double.isFinite(total);
    }

    /** The report for the first non-finite gradient of {@code arena}, at flat position {@code index}. */
    static NonFiniteGradientException report(ParameterArena arena, int index, long step, String action) {
        ParameterArena.Entry e = arena.entryAt(index);
        double value;
        try (Tensor one = arena.grads().narrow(0, index, 1)) {
            value = one.toFloatArray()[0];
        }
        return new NonFiniteGradientException(e.name(), index - e.offset(), value, step, action);
    }
}
