package optlab.kernels.testkit;

import optlab.kernels.Backends;
import optlab.kernels.Device;

/**
 * The CPU allocator's live-buffer count for leak checks, once earlier tests' unreachable tensors are freed: tensor
 * storages have a Cleaner as a safety net (tensor/.../Storage.java), which frees a leaked buffer whenever the garbage
 * collector finds it, so without this a check could see an earlier test's leak freed midway and fail for nothing.
 */
public final class LiveBuffers {
    private LiveBuffers() {}

    /** Collects garbage and waits (at most 2 s) until the count has not changed for three polls 20 ms apart. */
    public static long settled() throws InterruptedException {
        long last = -1;
        int same = 0;
        for (int i = 0; i < 100 && same < 3; i++) {
            System.gc();
            Thread.sleep(20);
            long now = Backends.of(Device.CPU).memoryStats().liveBuffers();
            same = now == last ? same + 1 : 0;
            last = now;
        }
        return last;
    }
}
