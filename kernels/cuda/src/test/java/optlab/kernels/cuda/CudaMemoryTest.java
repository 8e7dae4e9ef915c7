package optlab.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import optlab.kernels.Buffer;
import optlab.kernels.DType;
import optlab.kernels.MemoryStats;
import optlab.kernels.testkit.GpuTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The caching allocator on a GPU: reuse, counts, and out-of-memory (NOTE [oom]). */
@GpuTest
class CudaMemoryTest {
    @BeforeEach
    void gpu() {
        GpuFixtures.requireGpu();
    }

    @Test
    void aFreedBlockIsReusedWithoutAskingTheDriver() {
        CudaBackend be = CudaBackend.get();
        MemoryStats before = be.memoryStats();
        Buffer a = be.allocate(DType.FLOAT32, 1_000_000);
        long reserved = be.reservedBytes();
        a.close();
        assertEquals(before.liveBuffers(), be.memoryStats().liveBuffers());
        assertTrue(be.memoryStats().cachedBytes() >= 4_000_000, be.memoryStats().toString());
        try (Buffer b = be.allocate(DType.FLOAT32, 990_000)) { // the same size class
            assertEquals(reserved, be.reservedBytes(), "served from the cache");
            assertNotNull(b);
        }
        try (Buffer empty = be.allocate(DType.INT32, 0)) {
            assertEquals(before.liveBuffers() + 1, be.memoryStats().liveBuffers(), "a zero-length buffer is a live buffer too");
            assertTrue(empty.ptr().offset() == 0);
        }
        be.emptyCache();
        assertEquals(0, be.memoryStats().cachedBytes());
    }

    /**
     * Fills the GPU with 8 GiB buffers until it refuses: the error says what was asked and what is free; after the
     * buffers are freed, allocation and kernels work again.
     */
    @Test
    void outOfMemorySaysHowMuchWasAskedAndFreeAndTheBackendRecovers() {
        CudaBackend be = CudaBackend.get();
        long live = be.memoryStats().liveBuffers();
        List<Buffer> hog = new ArrayList<>();
        CudaOutOfMemoryError oom = null;
        try {
            for (int i = 0; i < 64 && oom == null; i++) {
                try {
                    hog.add(be.allocate(DType.FLOAT64, 1 << 30)); // 8 GiB
                } catch (CudaOutOfMemoryError e) {
                    oom = e;
                }
            }
        } finally {
            for (Buffer b : hog) b.close();
        }
        assertNotNull(oom, "64 buffers of 8 GiB fitted: no GPU has 512 GiB");
        String m = oom.getMessage();
        assertTrue(m.contains("out of memory") && m.contains("asked for 8192.0 MiB") && m.contains("free of")
                && m.contains("cuMemGetInfo") && m.contains("FLOAT64[1073741824]"), m);
        assertEquals(8L << 30, oom.requestedBytes());
        assertTrue(oom.freeBytes() < 8L << 30, m);
        assertEquals(live, be.memoryStats().liveBuffers());
        be.emptyCache();
        try (Buffer b = be.allocate(DType.FLOAT32, 1 << 20)) {
            be.fill(b.ptr(), 1 << 20, 3.0);
            float[] out = new float[4];
            be.read(b.ptr((1 << 20) - 4), out, 0, 4);
            assertEquals(3f, out[3]);
        }
    }
}
