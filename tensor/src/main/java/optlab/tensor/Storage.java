package optlab.tensor;

import java.lang.ref.Cleaner;
import optlab.kernels.Buffer;

/**
 * A buffer shared by a tensor and its views, freed when the last of them is closed (NOTE [lifetimes]
 * in {@link Buffer}). A storage whose tensors are dropped without being closed is freed by a
 * {@link Cleaner} once the garbage collector finds it unreachable: a safety net, not the plan, since
 * the collector does not run on time for GPU memory.
 */
final class Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    final Buffer buffer;
    private int refs;
    private final Cleaner.Cleanable cleanable;

    Storage(Buffer buffer) {
        this.buffer = buffer;
        this.cleanable = CLEANER.register(this, buffer::close);
    }

    synchronized void retain() {
        if (refs < 0) throw new IllegalStateException("storage already freed");
        refs++;
    }

    synchronized void release() {
        if (--refs == 0) {
            refs = -1;
            cleanable.clean(); // closes the buffer, once
        }
    }
}
