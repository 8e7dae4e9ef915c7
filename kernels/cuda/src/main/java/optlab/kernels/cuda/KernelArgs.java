package optlab.kernels.cuda;

import java.util.ArrayList;
import java.util.List;
import jcuda.Pointer;

/**
 * The parameters of one kernel launch, in order, as JCuda's {@code cuLaunchKernel} takes them: a pointer
 * to an array of pointers, one per parameter, each pointing at the parameter's value. Device pointers
 * are passed as 64-bit addresses (NOTE [raw-pointers]); structs by value as an {@code int[]} of their
 * layout (every struct in the kernel files holds ints only).
 */
final class KernelArgs {
    private final List<Pointer> values = new ArrayList<>();

    KernelArgs i(int v) {
        values.add(Pointer.to(new int[] {v}));
        return this;
    }

    KernelArgs l(long v) {
        values.add(Pointer.to(new long[] {v}));
        return this;
    }

    KernelArgs f(float v) {
        values.add(Pointer.to(new float[] {v}));
        return this;
    }

    KernelArgs d(double v) {
        values.add(Pointer.to(new double[] {v}));
        return this;
    }

    /** A device pointer (0 for a null pointer). */
    KernelArgs p(long address) {
        return l(address);
    }

    /** A struct of ints, by value. */
    KernelArgs struct(int[] words) {
        values.add(Pointer.to(words.clone()));
        return this;
    }

    Pointer pointer() {
        return Pointer.to(values.toArray(new Pointer[0]));
    }

    int count() {
        return values.size();
    }
}
