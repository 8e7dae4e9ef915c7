package optlab.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import optlab.kernels.BinaryOp;
import optlab.kernels.Strides;
import optlab.kernels.UnaryOp;
import org.junit.jupiter.api.Test;

/** The CUDA backend's host-side logic that needs no GPU: size classes, struct packing, op codes, launch configs. */
class CudaHostSideTest {
    @Test
    void sizeClassesRoundUpByAtMostAQuarter() {
        assertEquals(512, CudaAllocator.sizeClass(1));
        assertEquals(512, CudaAllocator.sizeClass(512));
        assertEquals(1024, CudaAllocator.sizeClass(513));
        assertEquals(1 << 20, CudaAllocator.sizeClass(1 << 20));
        assertEquals((1 << 20) + (1 << 18), CudaAllocator.sizeClass((1 << 20) + 1));
        long prev = 0;
        for (long b = 1; b < (1L << 34); b = b * 3 / 2 + 7) {
            long c = CudaAllocator.sizeClass(b);
            assertTrue(c >= b, "class " + c + " holds " + b);
            assertTrue(c <= Math.max(512, b + b / 4 + 512), "class " + c + " wastes at most a quarter of " + b);
            assertEquals(0, c % 512, "classes are multiples of 512 bytes");
            assertTrue(c >= prev, "monotone");
            prev = c;
        }
        // sizes close together share a class, so a training loop's slightly different shapes reuse blocks
        assertEquals(CudaAllocator.sizeClass(3_000_000), CudaAllocator.sizeClass(3_100_000));
    }

    @Test
    void stridedIterationsArePackedAsTheKernelsStruct() {
        int[][] c = Strides.coalesce(new int[] {2, 3, 4}, new int[] {12, 4, 1}, new int[] {1, 2, 6});
        int[] words = CudaBackend.strided("copy", c);
        assertEquals(1 + 3 * CudaBackend.MAX_RANK, words.length);
        assertEquals(c[0].length, words[0]);
        for (int j = 0; j < 3; j++) {
            for (int d = 0; d < c[0].length; d++) assertEquals(c[j][d], words[1 + j * CudaBackend.MAX_RANK + d]);
        }
        int[] nine = new int[9];
        int[] strides = new int[9];
        for (int d = 0; d < 9; d++) {
            nine[d] = 2;
            strides[d] = 1 << (2 * (8 - d)); // never contiguous: nothing merges
        }
        int[][] wide = Strides.coalesce(nine, strides, Strides.contiguous(nine));
        var e = assertThrows(IllegalArgumentException.class, () -> CudaBackend.strided("copy", wide));
        assertTrue(e.getMessage().contains("at most 8"), e.getMessage());
    }

    @Test
    void everyOpHasADistinctKernelCode() {
        Set<Integer> u = new HashSet<>();
        for (UnaryOp op : UnaryOp.values()) assertTrue(u.add(CudaBackend.unaryCode(op)), op.toString());
        assertArrayEquals(new int[] {0, UnaryOp.values().length - 1},
                new int[] {u.stream().min(Integer::compare).orElseThrow(), u.stream().max(Integer::compare).orElseThrow()});
        Set<Integer> b = new HashSet<>();
        for (BinaryOp op : BinaryOp.values()) assertTrue(b.add(CudaBackend.binaryCode(op)), op.toString());
        assertEquals(BinaryOp.values().length, b.size());
    }

    @Test
    void launchConfigsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new LaunchConfig(0, 1, LaunchConfig.Reduce.AUTO, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchConfig(1025, 1, LaunchConfig.Reduce.AUTO, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchConfig(32, 0, LaunchConfig.Reduce.AUTO, 0));
        assertEquals(97, LaunchConfig.defaults(132).withBlock(97).block());
        assertEquals(132 * 32, LaunchConfig.defaults(132).maxBlocks());
    }
}
