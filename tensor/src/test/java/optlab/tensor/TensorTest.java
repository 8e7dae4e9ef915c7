package optlab.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Creation, views, broadcasting, reductions, matmul, printing and lifetimes; every test runs in a Scope. */
class TensorTest {
    private Scope scope;
    private long liveBefore;

    @BeforeEach
    void open() {
        liveBefore = CpuBackend.get().memoryStats().liveBuffers();
        scope = Scope.open();
    }

    @AfterEach
    void closeAndCheckForLeaks() {
        scope.close();
        assertEquals(liveBefore, CpuBackend.get().memoryStats().liveBuffers(), "a test leaked buffers");
    }

    private static Tensor range(int... shape) {
        int n = Shape.of(shape).numel();
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return Tensor.of(a, shape);
    }

    @Test
    void creation() {
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0}, Tensor.zeros(2, 3).toFloatArray());
        assertArrayEquals(new float[] {1, 1}, Tensor.ones(2).toFloatArray());
        assertEquals(3.5, Tensor.scalar(3.5).item());
        Tensor d = Tensor.of(new double[] {1, 2}, 2);
        assertEquals(DType.FLOAT64, d.dtype());
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        assertEquals("data of length 5 does not fill shape [2, 3] (6 elements)", e.getMessage());
    }

    @Test
    void randomTensorsAreReproducibleFromTheGeneratorState() {
        Generator g1 = new Generator(7), g2 = new Generator(7);
        assertArrayEquals(Tensor.randn(g1, 4, 5).toFloatArray(), Tensor.randn(g2, 4, 5).toFloatArray());
        assertEquals(20, g1.counter());
        // the next draw continues the stream, and a restored state reproduces it
        Generator restored = new Generator(7, 20);
        assertArrayEquals(Tensor.rand(g1, 3).toFloatArray(), Tensor.rand(restored, 3).toFloatArray());
    }

    @Test
    void viewsShareStorage() {
        Tensor x = range(2, 3, 4);
        Tensor t = x.transpose(0, 2); // (4, 3, 2)
        assertEquals(Shape.of(4, 3, 2), t.shape());
        assertFalse(t.isContiguous());
        assertEquals(x.get(1, 2, 3), t.get(3, 2, 1));
        Tensor p = x.permute(1, 2, 0); // (3, 4, 2): p[i][j][k] = x[k][i][j]
        assertEquals(x.get(1, 0, 3), p.get(0, 3, 1));
        Tensor n = x.narrow(2, 1, 2); // x[:, :, 1:3]
        assertArrayEquals(new float[] {1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22}, n.toFloatArray());
        Tensor s = x.slice(2, 0, 4, 2); // x[:, :, ::2]
        assertArrayEquals(new float[] {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22}, s.toFloatArray());
        Tensor sel = x.select(1, 2); // x[:, 2, :]
        assertArrayEquals(new float[] {8, 9, 10, 11, 20, 21, 22, 23}, sel.toFloatArray());
        assertEquals(Shape.of(2, 1, 3, 4), x.unsqueeze(1).shape());
        assertEquals(Shape.of(2, 12), x.flatten(1, 2).shape());
        assertEquals(Shape.of(6, 4), x.view(-1, 4).shape());
        n.fillInPlace(-1); // writes through the view
        assertEquals(-1.0, x.get(0, 0, 1));
        assertEquals(3.0, x.get(0, 0, 3));
        assertTrue(n.sharesStorageWith(x));
    }

    @Test
    void viewOfANonContiguousTensorIsRefusedButReshapeCopies() {
        Tensor t = range(2, 3).t();
        var e = assertThrows(IllegalArgumentException.class, () -> t.view(6));
        assertTrue(e.getMessage().startsWith("view: tensor of shape [3, 2]"), e.getMessage());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.reshape(6).toFloatArray());
    }

    @Test
    void broadcastingBinaryOps() {
        Tensor a = range(2, 3), row = Tensor.of(new float[] {10, 20, 30}, 3), col = Tensor.of(new float[] {1, 2}, 2, 1);
        assertArrayEquals(new float[] {10, 21, 32, 13, 24, 35}, a.add(row).toFloatArray());
        assertArrayEquals(new float[] {0, 1, 2, 6, 8, 10}, a.mul(col).toFloatArray());
        assertArrayEquals(new float[] {-1, 0, 1, 1, 2, 3}, a.sub(col).toFloatArray());
        assertArrayEquals(new float[] {0, 2, 4, 6, 8, 10}, a.mul(2).toFloatArray());
        assertArrayEquals(new float[] {0, 1, 4, 9, 16, 25}, a.square().toFloatArray());
        // ops on transposed (non-contiguous) operands: (a^T + a^T)^T + a - a + a = 3a
        assertArrayEquals(new float[] {0, 3, 6, 9, 12, 15}, a.t().add(a.t()).t().add(a.t().t()).sub(a).add(a).toFloatArray());
    }

    @Test
    void shapeMismatchNamesTheOpAndBothShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> range(2, 3).add(range(4)));
        assertEquals("add: shapes [2, 3] and [4] are not broadcastable", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> range(2, 3).matmul(range(2, 3)));
        assertEquals("matmul: shapes [2, 3] and [2, 3] cannot be multiplied (3 != 2)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> range(2).add(Tensor.of(new double[] {1, 2}, 2)));
        assertEquals("add: dtypes differ, FLOAT32 [2] and FLOAT64 [2]", e.getMessage());
    }

    @Test
    void inPlaceOps() {
        Tensor a = range(2, 3);
        a.addInPlace(Tensor.of(new float[] {1, 1, 1}, 3)).mulInPlace(2);
        assertArrayEquals(new float[] {2, 4, 6, 8, 10, 12}, a.toFloatArray());
        Tensor t = a.t(); // in place through a non-contiguous view
        t.mulInPlace(0.5);
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, a.toFloatArray());
        var e = assertThrows(IllegalArgumentException.class, () -> range(3).addInPlace(range(2, 3)));
        assertTrue(e.getMessage().startsWith("addInPlace: cannot broadcast shape [2, 3] to [3]"), e.getMessage());
    }

    @Test
    void reductions() {
        Tensor x = range(2, 3, 4);
        assertEquals(276.0, x.sum().item()); // 0 + 1 + ... + 23
        // x[i][j][k] = 12i + 4j + k; over i: (4j + k) + (12 + 4j + k) = 12 + 8j + 2k
        assertArrayEquals(new float[] {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34}, x.sum(0, false).toFloatArray());
        // over dims 0 and 2 (not adjacent): per j, sum_{i,k} (12i + 4j + k) = 48 + 32j + 12
        assertArrayEquals(new float[] {60, 92, 124}, x.sum(new int[] {0, 2}, false).toFloatArray());
        assertEquals(Shape.of(1, 3, 1), x.sum(new int[] {0, -1}, true).shape());
        assertArrayEquals(new float[] {1.5f, 5.5f, 9.5f, 13.5f, 17.5f, 21.5f}, x.mean(2, false).toFloatArray());
        assertArrayEquals(new float[] {20, 21, 22, 23}, x.max(1, false).max(0, false).toFloatArray()); // x[1][2][k] = 20 + k
        assertArrayEquals(new int[] {3, 3, 3, 3, 3, 3}, x.argmax(2, false).toIntArray());
        // sumTo: the backward of broadcasting (3, 1) to (2, 3, 4) sums over i and k: as above
        assertArrayEquals(new float[] {60, 92, 124}, x.sumTo(Shape.of(3, 1)).toFloatArray());
    }

    @Test
    void matmulPassesTransposedViewsWithoutCopies() {
        Tensor a = range(2, 3), b = range(4, 3); // a . b^T is (2, 4)
        float[] expected = new float[8];
        float[] av = a.toFloatArray(), bv = b.toFloatArray();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 3; k++) expected[i * 4 + j] += av[i * 3 + k] * bv[j * 3 + k];
        assertArrayEquals(expected, a.matmul(b.t()).toFloatArray());
        assertArrayEquals(expected, b.matmul(a.t()).t().toFloatArray());
        assertArrayEquals(expected, a.t().t().matmul(b.t()).toFloatArray());
        // a sliced (non-GEMM-ready) operand is copied first
        Tensor wide = range(2, 6).slice(1, 0, 6, 2); // columns 0, 2, 4
        assertArrayEquals(new float[] {0 * 0 + 2 * 1 + 4 * 2, 6 * 0 + 8 * 1 + 10 * 2}, wide.matmul(Tensor.of(new float[] {0, 1, 2}, 3, 1)).toFloatArray());
        Tensor batched = range(2, 2, 3).matmul(range(2, 3, 1));
        assertArrayEquals(new float[] {0 + 1 + 4, 0 + 4 + 10, 6 * 3 + 7 * 4 + 8 * 5, 9 * 3 + 10 * 4 + 11 * 5}, batched.toFloatArray());
    }

    @Test
    void concatenation() {
        Tensor a = range(2, 1, 2), b = range(2, 2, 2).add(100);
        Tensor c = Tensor.cat(1, a, b);
        assertEquals(Shape.of(2, 3, 2), c.shape());
        assertArrayEquals(new float[] {0, 1, 100, 101, 102, 103, 2, 3, 104, 105, 106, 107}, c.toFloatArray());
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.cat(1, range(2, 1), range(3, 1)));
        assertEquals("cat: shapes [2, 1] and [3, 1] differ outside dimension 1", e.getMessage());
    }

    @Test
    void conversions() {
        Tensor x = Tensor.of(new float[] {1.5f, -2.5f}, 2);
        assertEquals(DType.FLOAT64, x.to(DType.FLOAT64).dtype());
        assertArrayEquals(new int[] {1, -2}, x.to(DType.INT32).toIntArray());
        assertEquals(Device.CPU, x.to(Device.CPU).device());
    }

    @Test
    void printingLikePyTorch() {
        assertEquals("tensor([[0., 1., 2.],\n        [3., 4., 5.]])", range(2, 3).toString());
        assertEquals("tensor([ 0.5000, -1.2500])", Tensor.of(new float[] {0.5f, -1.25f}, 2).toString());
        assertEquals("tensor([1., 2.], dtype=float64)", Tensor.of(new double[] {1, 2}, 2).toString());
        assertEquals("tensor(3., shape=[])", Tensor.scalar(3).toString());
        String big = range(2000).toString();
        assertEquals("tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], shape=[2000])", big);
    }

    @Test
    void scopesFreeTheirTensorsAndKeepHandsOneOut() {
        long before = CpuBackend.get().memoryStats().liveBuffers();
        Tensor kept;
        Tensor dropped;
        try (Scope inner = Scope.open()) {
            dropped = Tensor.ones(3).mul(2);
            kept = inner.keep(Tensor.ones(4));
            assertEquals(before + 3, CpuBackend.get().memoryStats().liveBuffers());
        }
        assertTrue(dropped.isClosed());
        assertFalse(kept.isClosed());
        assertEquals(before + 1, CpuBackend.get().memoryStats().liveBuffers());
        var e = assertThrows(IllegalStateException.class, dropped::toFloatArray);
        assertEquals("tensor [3] FLOAT32 was freed (closed explicitly or by its Scope)", e.getMessage());
    }

    @Test
    void aBufferLivesWhileAnyViewDoes() {
        long before = CpuBackend.get().memoryStats().liveBuffers();
        Tensor v;
        try (Tensor base = Scope.escape(range(4))) {
            v = Scope.escape(base.narrow(0, 1, 2));
        }
        assertEquals(before + 1, CpuBackend.get().memoryStats().liveBuffers());
        assertArrayEquals(new float[] {1, 2}, v.toFloatArray());
        v.close();
        assertEquals(before, CpuBackend.get().memoryStats().liveBuffers());
    }
}
