package optlab.kernels.cuda;

import static optlab.kernels.testkit.TestBuffers.download;
import static optlab.kernels.testkit.TestBuffers.randn;
import static optlab.kernels.testkit.TestBuffers.wide;
import static optlab.kernels.cuda.GpuFixtures.gpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import optlab.kernels.Buffer;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.FusedKernel;
import optlab.kernels.KernelChoices;
import optlab.kernels.Ptr;
import optlab.kernels.RandomDistribution;
import optlab.kernels.ReduceOp;
import optlab.kernels.Tolerance;
import optlab.kernels.UnaryOp;
import optlab.kernels.cpu.CpuBackend;
import optlab.kernels.reference.RefElementwise;
import optlab.kernels.reference.RefGemm;
import optlab.kernels.testkit.GpuTest;
import optlab.kernels.testkit.TestBuffers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GPU checks beyond the shared conformance suite: GEMM at sizes that select the 128x128 tiles, the vendor
 * variants against the own kernels at a ResNet layer's size, exact agreement of random fills and dropout
 * masks with the CPU backend at a million elements, long reductions, user kernels from files, and the
 * errors that name a kernel.
 */
@GpuTest
class CudaBackendExtrasTest {
    private TestBuffers bufs; // made once a GPU is known to be there

    @BeforeEach
    void gpuAndMark() {
        GpuFixtures.requireGpu();
        bufs = new TestBuffers(CudaBackend.get());
    }

    @AfterEach
    void free() {
        if (bufs != null) bufs.freeAndCheckLeaks();
    }

    // ------------------------------------------------------------------------------------------------
    // GEMM
    // ------------------------------------------------------------------------------------------------

    /** (m, n, k): 1536^2 selects the 128x128 tiles on GPUs with <= 144 SMs; the others are odd and skinny. */
    static final int[][] GEMMS = {{1536, 1536, 40}, {1, 1, 1}, {257, 129, 300}, {1000, 3, 77}, {5, 2049, 33}, {64, 64, 0}};

    @ParameterizedTest
    @ValueSource(strings = {"own_tiled_fp32", "own_tiled_fp32_v2", "own_naive", "own_tf32", "cublas", "cublas_tf32"})
    void gemmVariantsMatchTheReferenceAtEveryTransposeAndSize(String variant) {
        if (variant.startsWith("cublas")) assumeTrue(VendorLibraries.cublasAvailable(), () -> String.join("\n", VendorLibraries.report()));
        CudaBackend be = gpu("gemm=" + variant);
        // TF32 rounds the operands to 10 mantissa bits: ~1e-3 relative per product, growing like sqrt(k)
        Tolerance tol = variant.endsWith("tf32") ? new Tolerance(5e-2, 1e-2) : new Tolerance(1e-4, 1e-4);
        for (int[] s : GEMMS) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean ta : new boolean[] {false, true})
                for (boolean tb : new boolean[] {false, true}) {
                    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
                    float[] a = randn(1, (ta ? k : m) * lda + 1), b = randn(2, (tb ? n : k) * ldb + 1), c = randn(3, m * ldc);
                    for (double beta : new double[] {0.0, -0.5}) {
                        if (beta == 0) java.util.Arrays.fill(c, Float.NaN); // beta = 0 must not read C
                        Buffer ab = bufs.upload(be, a), bb = bufs.upload(be, b), cb = bufs.upload(be, c);
                        be.gemm(ta, tb, m, n, k, 1.25, ab.ptr(1), lda, bb.ptr(1), ldb, beta, cb.ptr(), ldc, 1, 0, 0, 0);
                        double[] expected = wide(c);
                        RefGemm.gemm(ta, tb, m, n, k, 1.25, wide(a), 1, lda, wide(b), 1, ldb, beta, expected, 0, ldc);
                        float[] got = download(be, cb);
                        for (int i = 0; i < m; i++) // only the m x n corner of C is defined
                            for (int j = n; j < ldc; j++) got[i * ldc + j] = (float) expected[i * ldc + j];
                        tol.assertClose(variant + " " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb + " beta=" + beta, got, expected);
                        if (beta == 0) c = randn(3, m * ldc);
                    }
                }
        }
    }

    /**
     * (m, n, k) around the 128x128x8 tile: partial tiles in m and n (two tiles each in the second; 161 leaves 33 rows,
     * so a thread's rows 128 + t/8 + 32q lie in for q <= 1 only), k = 0, and every k % 8 (the partial last k-tile's
     * bounds: 0 to 7).
     */
    static final int[][] TILE_EDGES = {{1, 1, 1}, {161, 200, 37}, {128, 128, 8}, {129, 3, 14}, {2, 257, 23}, {7, 5, 0},
            {3, 130, 10}, {130, 2, 19}, {33, 129, 12}};

    /**
     * The 128x128 kernels, forced (LaunchConfig.GemmTiles.LARGE) at sizes that would otherwise take the 64x64 ones:
     * own_tiled_fp32's gemm_tiled128_f32 and own_tiled_fp32_v2's gemm_tiled128v2_* (which clamps rows and columns
     * past m and n instead of zero-filling them, and has a kernel per transpose case and beta == 0). Every transpose,
     * two batches, beta 0 over a NaN-filled C (no NaN may leak) and beta != 0; operands at odd offsets with odd
     * leading dimensions, and at offset 0 with leading dimensions and batch strides a multiple of 4 (16-byte
     * aligned); one block per tile, and a 1x1x1 grid (grid-stride over tiles and batches). The whole of C is
     * compared, padding and the gap between batches included: nothing outside the m x n corners may be written.
     */
    @ParameterizedTest
    @ValueSource(strings = {"own_tiled_fp32", "own_tiled_fp32_v2"})
    void tiled128KernelsAtTileEdgesLayoutsBatchesAndGrids(String variant) {
        Tolerance tol = new Tolerance(1e-4, 1e-4);
        int batch = 2;
        for (int grid : new int[] {0, 1}) {
            CudaBackend be = CudaBackend.get()
                    .withLaunch(CudaBackend.get().launchConfig().withGemmTiles(LaunchConfig.GemmTiles.LARGE).withGemmGrid(grid))
                    .withChoices(GpuFixtures.choices("gemm=" + variant));
            for (int[] s : TILE_EDGES) {
                int m = s[0], n = s[1], k = s[2];
                for (boolean aligned : new boolean[] {false, true})
                    for (boolean ta : new boolean[] {false, true})
                        for (boolean tb : new boolean[] {false, true}) {
                            int off = aligned ? 0 : 1, pad = aligned ? 4 : 1;
                            int lda = round(Math.max(1, ta ? m : k), pad) + (aligned ? 0 : 2);
                            int ldb = round(Math.max(1, tb ? k : n), pad) + (aligned ? 4 : 0);
                            int ldc = round(n, pad) + (aligned ? 0 : 2);
                            int sa = round((ta ? k : m) * lda + 3, pad), sb = round((tb ? n : k) * ldb + 1, pad), sc = round(m * ldc + 5, pad);
                            float[] a = randn(1, off + batch * sa), b = randn(2, off + batch * sb);
                            for (double beta : new double[] {0.0, -0.5}) {
                                float[] c = randn(3, off + batch * sc);
                                if (beta == 0) java.util.Arrays.fill(c, Float.NaN); // beta = 0 must not read C
                                Buffer ab = bufs.upload(be, a), bb = bufs.upload(be, b), cb = bufs.upload(be, c);
                                be.gemm(ta, tb, m, n, k, 1.25, ab.ptr(off), lda, bb.ptr(off), ldb, beta, cb.ptr(off), ldc, batch, sa, sb, sc);
                                double[] expected = wide(c), aw = wide(a), bw = wide(b);
                                for (int i = 0; i < batch; i++) {
                                    RefGemm.gemm(ta, tb, m, n, k, 1.25, aw, off + i * sa, lda, bw, off + i * sb, ldb, beta, expected, off + i * sc, ldc);
                                }
                                tol.assertClose(String.format("%s %dx%dx%d ta=%s tb=%s beta=%s %s grid=%d", variant, m, n, k, ta, tb, beta,
                                        aligned ? "aligned" : "unaligned", grid), wide(download(be, cb)), expected);
                            }
                        }
            }
        }
    }

    private static int round(int x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }

    // ------------------------------------------------------------------------------------------------
    // convolution: own kernels against cuDNN at ResNet-20 layer sizes
    // ------------------------------------------------------------------------------------------------

    @Test
    void cudnnConvolutionsMatchTheOwnKernelsAtResnetSizes() {
        assumeTrue(VendorLibraries.cudnnAvailable(), () -> String.join("\n", VendorLibraries.report()));
        CudaBackend own = gpu(""), dnn = gpu("conv2d=cudnn");
        Conv2dGeometry[] layers = {
                new Conv2dGeometry(128, 3, 32, 32, 16, 3, 3, 1, 1, 1, 1),
                new Conv2dGeometry(128, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1),
                new Conv2dGeometry(128, 32, 16, 16, 64, 3, 3, 2, 2, 1, 1),
                new Conv2dGeometry(64, 64, 8, 8, 64, 1, 1, 1, 1, 0, 0),
        };
        Tolerance tol = new Tolerance(1e-3, 1e-3); // two FP32 summation orders over up to 128*32*32 terms (filter gradient)
        for (Conv2dGeometry g : layers) {
            Buffer x = bufs.upload(own, randn(1, g.inputSize())), w = bufs.upload(own, randn(2, g.filterSize()));
            Buffer dy = bufs.upload(own, randn(3, g.outputSize()));
            Buffer y1 = bufs.empty(own, g.outputSize()), y2 = bufs.empty(own, g.outputSize());
            Buffer dx1 = bufs.empty(own, g.inputSize()), dx2 = bufs.empty(own, g.inputSize());
            Buffer dw1 = bufs.empty(own, g.filterSize()), dw2 = bufs.empty(own, g.filterSize());
            own.conv2dForward(g, x.ptr(), w.ptr(), y1.ptr());
            dnn.conv2dForward(g, x.ptr(), w.ptr(), y2.ptr());
            own.conv2dBackwardData(g, dy.ptr(), w.ptr(), dx1.ptr());
            dnn.conv2dBackwardData(g, dy.ptr(), w.ptr(), dx2.ptr());
            own.conv2dBackwardFilter(g, x.ptr(), dy.ptr(), dw1.ptr());
            dnn.conv2dBackwardFilter(g, x.ptr(), dy.ptr(), dw2.ptr());
            tol.assertClose("forward " + g, download(own, y2), wide(download(own, y1)));
            tol.assertClose("backward data " + g, download(own, dx2), wide(download(own, dx1)));
            Tolerance sums = new Tolerance(1e-2, 1e-3); // dw sums n*p*q = 131072 products: absolute error grows with it
            sums.assertClose("backward filter " + g, download(own, dw2), wide(download(own, dw1)));
        }
    }

    // ------------------------------------------------------------------------------------------------
    // exact agreement with the CPU backend at scale (NOTE [philox])
    // ------------------------------------------------------------------------------------------------

    @Test
    void dropoutMasksAndRandomFillsEqualTheCpuBackendsAtAMillionElements() {
        int n = 1_000_003;
        CudaBackend be = gpu("");
        CpuBackend cpu = CpuBackend.get();
        float[] x = randn(7, n);
        Buffer xg = bufs.upload(be, x), yg = bufs.empty(be, n);
        be.dropout(n, 0.37, 123456789L, 1L << 33, xg.ptr(), yg.ptr());
        float[] got = download(be, yg);
        try (Buffer xc = cpu.allocate(DType.FLOAT32, n); Buffer yc = cpu.allocate(DType.FLOAT32, n)) {
            cpu.write(xc.ptr(), x, 0, n);
            cpu.dropout(n, 0.37, 123456789L, 1L << 33, xc.ptr(), yc.ptr());
            float[] expected = new float[n];
            cpu.read(yc.ptr(), expected, 0, n);
            assertArrayEquals(expected, got, "dropout must equal the CPU's bit for bit");
            for (RandomDistribution d : RandomDistribution.values()) {
                be.fillRandom(yg.ptr(), n, d, 0.5, 2.0, 99L, 5L);
                cpu.fillRandom(yc.ptr(), n, d, 0.5, 2.0, 99L, 5L);
                cpu.read(yc.ptr(), expected, 0, n);
                float[] g = download(be, yg);
                int differ = 0;
                for (int i = 0; i < n; i++) if (g[i] != expected[i]) differ++;
                // log/cos in double may differ from Java's in the last ulp; after rounding to float that is a tie at most
                assertTrue(differ <= n / 100_000, d + ": " + differ + " of " + n + " draws differ from the CPU's");
            }
        }
    }

    @Test
    void longReductionsStayAccurate() {
        CudaBackend be = gpu("");
        int size = 3_000_001;
        float[] x = randn(11, size);
        for (int i = 0; i < size; i++) x[i] += 1f; // a large mean: a float accumulator would drift
        Buffer xb = bufs.upload(be, x), yb = bufs.empty(be, 1);
        for (ReduceOp op : ReduceOp.values()) {
            be.reduce(op, 1, size, 1, xb.ptr(), yb.ptr());
            double[] e = new double[1];
            RefElementwise.reduce(op, 1, size, 1, wide(x), 0, e, 0);
            Tolerance.FLOAT32.assertClose(op + " over " + size, download(be, yb), e);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // user kernels and errors that name the kernel
    // ------------------------------------------------------------------------------------------------

    @Test
    void aUserUnaryKernelFromAFileReplacesTheOwnOne() {
        String spec = "unary.relu=user:" + GpuFixtures.fatbinFile("elementwise") + ":leaky_relu_user_f32:backward=leaky_relu_user_bwd_f32";
        CudaBackend be = gpu(spec);
        float[] x = randn(5, 4099);
        Buffer xb = bufs.upload(be, x), yb = bufs.empty(be, x.length);
        be.unary(UnaryOp.RELU, 0, x.length, xb.ptr(), yb.ptr());
        double[] expected = new double[x.length];
        for (int i = 0; i < x.length; i++) expected[i] = x[i] > 0 ? x[i] : 0.01f * x[i];
        Tolerance.FLOAT32.assertClose("leaky relu user kernel", download(be, yb), expected);
        GpuFixtures.choices(spec).checkGradient("unary.relu", be.device()); // it has a backward: allowed
    }

    /**
     * The driver's per-kernel block limit (CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK): the 128x128 tiled SGEMM uses about
     * 217 registers a thread (ptxas, sm_90), so a real GPU allows it 256 threads, the block it is launched with; a larger
     * block is refused by name before the launch. The emulator does not model registers (every kernel takes 1024 there).
     */
    @Test
    void aBlockLargerThanTheKernelTakesIsRefusedByName() {
        CudaDevice dev = gpu("").dev;
        int max = dev.maxThreadsPerBlock("gemm", "gemm_tiled128_f32");
        assertTrue(max >= 256 && max <= 1024, "gemm_tiled128_f32 takes at most " + max + " threads, but is launched with 256");
        assumeTrue(max < 1024, "every kernel takes 1024 threads under the emulator");
        var e = assertThrows(IllegalArgumentException.class, () -> dev.launch("gemm", "gemm_tiled128_f32", 1, 1, 1, 1024, 0, new KernelArgs()));
        assertTrue(e.getMessage().contains("this kernel takes at most " + max + " threads per block"), e.getMessage());
    }

    @Test
    void aMissingUserFunctionIsNamedWhenTheBackendOpens() {
        var e = assertThrows(IllegalArgumentException.class, () -> gpu("gemm=user:" + GpuFixtures.fatbinFile("gemm") + ":no_such_gemm"));
        assertTrue(e.getMessage().startsWith("gemm=user:") && e.getMessage().contains("has no function 'no_such_gemm'"), e.getMessage());
    }

    @Test
    void aFusedKernelWithoutACudaFunctionIsRefusedByName() {
        FusedKernel hostOnly = new FusedKernel() {
            @Override
            public String name() {
                return "host_only_kernel";
            }

            @Override
            public void runHost(HostOperands ops, double[] s, int from, int to) {}
        };
        CudaBackend be = gpu("");
        Buffer x = bufs.empty(be, 8);
        var e = assertThrows(IllegalArgumentException.class, () -> be.fused(hostOnly, 8, new Ptr[] {x.ptr()}, new double[0]));
        assertTrue(e.getMessage().contains("host_only_kernel") && e.getMessage().contains("fused.host_only_kernel=user:"), e.getMessage());
    }

    @Test
    void theNnPrimitivesRefuseFloat64ByName() {
        CudaBackend be = gpu("");
        Buffer d = bufs.empty(be, DType.FLOAT64, 16);
        var e = assertThrows(IllegalArgumentException.class, () -> be.lstmCellForward(1, 1, d.ptr(), d.ptr(4), d.ptr(5), d.ptr(9), d.ptr(10)));
        assertTrue(e.getMessage().contains("lstmCellForward") && e.getMessage().contains("FLOAT32 only"), e.getMessage());
    }

    @Test
    void theChosenKernelIsWhatRunsAndIsCounted() {
        CudaBackend be = gpu("gemm=own_naive");
        assertEquals("own_naive", be.choice("gemm").variant());
        assertEquals(KernelChoices.defaults().choice("gemm", KernelChoices.Target.CUDA).variant(), CudaBackend.get().choice("gemm").variant());
        be.kernelCalls().reset();
        Buffer a = bufs.upload(be, new float[] {1, 2, 3, 4}), c = bufs.empty(be, DType.FLOAT32, 4);
        be.gemm(false, false, 2, 2, 2, 1, a.ptr(), 2, a.ptr(), 2, 0, c.ptr(), 2, 1, 0, 0, 0);
        be.unary(optlab.kernels.UnaryOp.RELU, 0, 4, c.ptr(), c.ptr());
        assertEquals(java.util.Map.of("gemm=own_naive", 1L, "unary.relu=own", 1L), be.kernelCalls().snapshot());
    }
}
