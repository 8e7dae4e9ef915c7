package optlab.kernels.cuda;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import optlab.kernels.Buffer;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.FusedKernel;
import optlab.kernels.KernelChoices;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.RandomDistribution;
import optlab.kernels.cuda.Cuda;
import optlab.kernels.cuda.CudaBackend;
import optlab.kernels.cuda.VendorLibraries;

/**
 * GPU kernel benchmarks, each beside its ceiling measured on the same device in the same run (DESIGN.md:
 * napkin math next to every timing):
 * <ul>
 *   <li>memory bandwidth: the driver's device-to-device copy (the ceiling), the own copy kernel, and a
 *       fused elementwise kernel (y += a*x, the FusedKernel ABI), as GB/s counting bytes read and written;</li>
 *   <li>SGEMM at 1024..4096: the own tiled FP32 kernel against cuBLAS FP32 (target: at least 70% at 4096),
 *       and the TF32 variants (own WMMA, cuBLAS TF32) as TFLOP/s, each first checked against a reference
 *       variant (cuBLAS FP32 where it loads, else the own naive kernel);</li>
 *   <li>a ResNet-20 convolution layer, own im2col against cuDNN, forward and both backwards;</li>
 *   <li>the other ops with a cuDNN variant, own kernels against cuDNN where it loads: batch norm (training forward
 *       and backward) on a ResNet-20 activation and 2x2 max pooling, as GB/s of the least traffic they need
 *       (ceiling: the D2D copy; at 8x the convolution's images, so that the arrays exceed the L2 cache as the copy's
 *       do), and one LSTM layer at DeepOBS's character-model size (t = 50, n = 50, 128 -> 128),
 *       forward and backward, as thousands of tokens per second.</li>
 * </ul>
 * Where cuBLAS does not load, bin/gpu-run measures PyTorch's torch.matmul at the same sizes as the ceiling.
 * Timings are CUDA events around {@code iterations} runs after warm-up runs, on the backend's stream.
 *
 * <pre>
 *   java ... optlab.kernels.cuda.GpuBenchmark [--quick] [--out results.tsv] [--sizes 1024,4096] [--elements N] [--images N]
 * </pre>
 * Exit status 2 when no GPU is usable (the probe's steps are printed), 1 when a section failed (its row says why;
 * the other sections still run).
 */
public final class GpuBenchmark {
    private GpuBenchmark() {}

    /** One measured figure: value in unit, and the ceiling it is a fraction of (NaN when none). */
    record Row(String name, double value, String unit, String ceiling, double ceilingValue, String note) {
        double fraction() {
            return ceilingValue > 0 ? value / ceilingValue : Double.NaN;
        }
    }

    private static final List<Row> ROWS = new ArrayList<>();
    private static final PrintStream OUT = System.out;

    public static void main(String[] args) throws IOException {
        boolean quick = false;
        Path out = null;
        int[] sizes = null;
        int elements = 0, images = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--out" -> out = Path.of(args[++i]);
                case "--sizes" -> sizes = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--elements" -> elements = Integer.parseInt(args[++i]);
                case "--images" -> images = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: GpuBenchmark [--quick] [--out FILE.tsv] [--sizes 1024,2048] [--elements N] [--images N]"
                            + "   (unknown argument " + args[i] + ")");
                    System.exit(64);
                }
            }
        }
        Cuda.Status status = Cuda.probe();
        if (!status.usable()) {
            OUT.println("GpuBenchmark: no usable GPU.\n" + status);
            System.exit(2);
        }
        CudaBackend be = CudaBackend.get();
        OUT.println("device: " + be.name() + "; " + be.deviceInfo());
        for (String line : VendorLibraries.report()) OUT.println(line);
        OUT.println(be.kernels().summary(KernelChoices.Target.CUDA));
        OUT.println();

        // each section on its own: one that fails (a vendor call never run before, say) is a FAILED row, not the end
        final boolean q = quick;
        int n1 = elements > 0 ? elements : q ? 1 << 24 : 1 << 28, img = images > 0 ? images : q ? 16 : 128;
        section("bandwidth", () -> bandwidth(be, n1));
        if (sizes == null) sizes = quick ? new int[] {512, 1024} : new int[] {1024, 2048, 3072, 4096};
        for (int n : sizes) section("sgemm " + n, () -> sgemm(be, n, q));
        section("convolution", () -> convolution(be, img, q));
        // 8x the images: batch norm's arrays (64 MiB each at 128) then exceed an H100/H200's 50 MB L2, as the copy's do
        section("batch norm and pooling", () -> batchNormAndPooling(be, 8 * img));
        section("lstm", () -> lstm(be, q ? 10 : 50));

        OUT.println();
        OUT.printf(Locale.ROOT, "%-52s %12s %-8s %-28s %8s%n", "benchmark", "value", "unit", "ceiling", "fraction");
        for (Row r : ROWS) {
            OUT.printf(Locale.ROOT, "%-52s %12.2f %-8s %-28s %8s%s%n", r.name(), r.value(), r.unit(), r.ceiling(),
                    Double.isNaN(r.fraction()) ? "" : String.format(Locale.ROOT, "%.1f%%", 100 * r.fraction()),
                    r.note().isEmpty() ? "" : "  " + r.note());
        }
        if (out != null) {
            StringBuilder b = new StringBuilder("benchmark\tvalue\tunit\tceiling\tceiling_value\tfraction\tnote\n");
            for (Row r : ROWS) {
                b.append(String.format(Locale.ROOT, "%s\t%.4f\t%s\t%s\t%.4f\t%.4f\t%s%n", r.name(), r.value(), r.unit(), r.ceiling(),
                        r.ceilingValue(), r.fraction(), r.note()));
            }
            Files.writeString(out, b.toString());
            OUT.println("wrote " + out);
        }
        if (failed) System.exit(1);
    }

    private static boolean failed;

    /** Runs one section; an exception becomes a FAILED row (and exit status 1) and the next section runs. */
    private static void section(String name, Runnable body) {
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            failed = true;
            ROWS.add(new Row(name + " FAILED", Double.NaN, "", "", 0, e.toString().replace('\t', ' ').replace('\n', ' ')));
            e.printStackTrace(OUT);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Bandwidth: bytes read + bytes written per second
    // ------------------------------------------------------------------------------------------------

    /** y += (float) s0 * x through the FusedKernel contract (elementwise.cu axpy_f32). */
    static final FusedKernel AXPY = new FusedKernel() {
        @Override
        public String name() {
            return "bench_axpy";
        }

        @Override
        public void runHost(HostOperands ops, double[] s, int from, int to) {
            throw new UnsupportedOperationException("GPU only");
        }

        @Override
        public CudaFunction cuda() {
            return new CudaFunction("elementwise", "axpy_f32");
        }
    };

    private static void bandwidth(CudaBackend be, int n) {
        try (Buffer x = be.allocate(DType.FLOAT32, n); Buffer y = be.allocate(DType.FLOAT32, n)) {
            be.fillRandom(x.ptr(), n, RandomDistribution.NORMAL, 0, 1, 1, 0);
            be.fill(y.ptr(), n, 0);
            double copyBytes = 2.0 * n * 4, axpyBytes = 3.0 * n * 4;
            double dd = gbps(copyBytes, be.timeMillis(() -> be.copyDeviceToDevice(y.ptr(), x.ptr(), n), 3, 20));
            String ceiling = "driver D2D copy";
            ROWS.add(new Row(String.format(Locale.ROOT, "D2D copy %.0f MiB (cuMemcpyDtoDAsync)", n / 262144.0), dd, "GB/s", "", 0, "the ceiling"));
            copyGbps = dd;
            int[] shape = {n}, unit = {1};
            double own = gbps(copyBytes, be.timeMillis(() -> be.copy(shape, y.ptr(), unit, x.ptr(), unit), 3, 20));
            ROWS.add(new Row("own copy kernel (copy_f32_f32)", own, "GB/s", ceiling, dd, ""));
            Ptr[] ops = {x.ptr(), y.ptr()};
            double[] s = {1e-3};
            double ax = gbps(axpyBytes, be.timeMillis(() -> be.fused(AXPY, n, ops, s), 3, 20));
            ROWS.add(new Row("fused y += a*x (axpy_f32, 12 B/element)", ax, "GB/s", ceiling, dd, ""));
        }
    }

    private static double copyGbps; // the D2D copy's GB/s, the ceiling of the memory-bound ops

    private static double gbps(double bytes, double ms) {
        return bytes / (ms * 1e-3) / 1e9;
    }

    // ------------------------------------------------------------------------------------------------
    // SGEMM: 2 n^3 flops
    // ------------------------------------------------------------------------------------------------

    private static void sgemm(CudaBackend be, int n, boolean quick) {
        int nn = n * n;
        boolean cublas = VendorLibraries.cublasAvailable();
        // own_tiled_fp32_v2: the same design in <= 128 registers (two blocks per SM); the faster of the two should
        // become the default (docs/GPU.md, "Missing, known limits, next steps")
        List<String> variants = new ArrayList<>(List.of("own_tiled_fp32", "own_tiled_fp32_v2", "own_tf32"));
        if (cublas) variants.addAll(0, List.of("cublas", "cublas_tf32"));
        String refVariant = cublas ? "cublas" : "own_naive";
        try (Buffer a = be.allocate(DType.FLOAT32, nn); Buffer b = be.allocate(DType.FLOAT32, nn);
             Buffer c = be.allocate(DType.FLOAT32, nn); Buffer ref = be.allocate(DType.FLOAT32, nn)) {
            be.fillRandom(a.ptr(), nn, RandomDistribution.UNIFORM, -1, 1, 2, 0);
            be.fillRandom(b.ptr(), nn, RandomDistribution.UNIFORM, -1, 1, 3, 0);
            CudaBackend r = be.withChoices(KernelChoices.defaults().with("gemm=" + refVariant, "GpuBenchmark"));
            r.gemm(false, false, n, n, n, 1, a.ptr(), n, b.ptr(), n, 0, ref.ptr(), n, 1, 0, 0, 0);
            float[] expected = new float[nn];
            be.read(ref.ptr(), expected, 0, nn);
            double flops = 2.0 * n * n * n, cublasFp32 = 0;
            for (String v : variants) {
                CudaBackend vb = be.withChoices(KernelChoices.defaults().with("gemm=" + v, "GpuBenchmark"));
                Runnable run = () -> vb.gemm(false, false, n, n, n, 1, a.ptr(), n, b.ptr(), n, 0, c.ptr(), n, 1, 0, 0, 0);
                run.run();
                float[] got = new float[nn];
                be.read(c.ptr(), got, 0, nn);
                double err = maxRelativeError(got, expected);
                // FP32 sums of n products of [-1,1] values agree to ~1e-5 relative to the largest |C|; TF32 to ~1e-2
                boolean ok = err <= (v.endsWith("tf32") ? 3e-2 : 1e-4);
                double tflops = flops / (be.timeMillis(run, 2, quick ? 3 : 10) * 1e-3) / 1e12;
                if (v.equals("cublas")) cublasFp32 = tflops;
                String ceiling = v.endsWith("tf32") ? (cublas && !v.equals("cublas_tf32") ? "cuBLAS TF32" : "")
                        : (cublas && !v.equals("cublas") ? "cuBLAS FP32" : "");
                double cv = ceiling.isEmpty() ? 0 : ceiling.equals("cuBLAS FP32") ? cublasFp32 : rowValue("sgemm " + n + " cublas_tf32");
                String note = String.format(Locale.ROOT, "check vs %s: max err %.1e %s", refVariant, err, ok ? "ok" : "FAILED");
                if (v.startsWith("own_tiled_fp32")) {
                    // which tile kernel ran (CudaBackend#sgemm: 128x128 where those tiles fill the GPU once)
                    long tiles = (long) ((n + 127) / 128) * ((n + 127) / 128);
                    note += tiles >= be.deviceInfo().multiprocessors() ? "; 128x128 tiles" : "; 64x64 tiles (gemm_tiled64_f32)";
                    if (n == 4096 && cublas) note += cv > 0 && tflops / cv >= 0.7 ? "; target 70% met" : "; BELOW the 70% target";
                    if (!cublas) note += "; ceiling: torch.matmul in bin/gpu-run";
                }
                ROWS.add(new Row("sgemm " + n + " " + v, tflops, "TFLOP/s", ceiling, cv, note));
            }
        }
    }

    private static double rowValue(String name) {
        for (Row r : ROWS) if (r.name().equals(name)) return r.value();
        return 0;
    }

    /** max |got - expected| over max |expected|. */
    private static double maxRelativeError(float[] got, float[] expected) {
        double worst = 0, scale = 0;
        for (int i = 0; i < got.length; i++) {
            worst = Math.max(worst, Math.abs((double) got[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
            if (Float.isNaN(got[i])) return Double.POSITIVE_INFINITY;
        }
        return worst / Math.max(scale, 1e-30);
    }

    // ------------------------------------------------------------------------------------------------
    // Convolution: a ResNet-20 3x3 layer, own im2col against cuDNN
    // ------------------------------------------------------------------------------------------------

    private static void convolution(CudaBackend be, int images, boolean quick) {
        Conv2dGeometry g = new Conv2dGeometry(images, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1);
        try (Buffer x = be.allocate(DType.FLOAT32, g.inputSize()); Buffer w = be.allocate(DType.FLOAT32, g.filterSize());
             Buffer y = be.allocate(DType.FLOAT32, g.outputSize()); Buffer dx = be.allocate(DType.FLOAT32, g.inputSize());
             Buffer dw = be.allocate(DType.FLOAT32, g.filterSize())) {
            be.fillRandom(x.ptr(), g.inputSize(), RandomDistribution.NORMAL, 0, 1, 4, 0);
            be.fillRandom(w.ptr(), g.filterSize(), RandomDistribution.NORMAL, 0, 1, 5, 0);
            String shape = "conv 3x3 16->16 32x32 n=" + g.n();
            for (String v : withCudnn("own_im2col")) {
                CudaBackend vb = be.withChoices(KernelChoices.defaults().with("conv2d=" + v, "GpuBenchmark"));
                double f = be.timeMillis(() -> vb.conv2dForward(g, x.ptr(), w.ptr(), y.ptr()), 2, 10);
                double d = be.timeMillis(() -> vb.conv2dBackwardData(g, y.ptr(), w.ptr(), dx.ptr()), 2, 10);
                double wf = be.timeMillis(() -> vb.conv2dBackwardFilter(g, x.ptr(), y.ptr(), dw.ptr()), 2, 10);
                vsCudnn(shape + " fwd", v, g.flops() / (f * 1e-3) / 1e12, "TFLOP/s", f);
                vsCudnn(shape + " bwd data", v, g.flops() / (d * 1e-3) / 1e12, "TFLOP/s", d);
                vsCudnn(shape + " bwd filter", v, g.flops() / (wf * 1e-3) / 1e12, "TFLOP/s", wf);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Batch norm, pooling and the LSTM: own kernels against cuDNN
    // ------------------------------------------------------------------------------------------------

    /** The variants of {@code op} to time: cuDNN first (the ceiling of the others) where it loads. */
    private static List<String> withCudnn(String own) {
        return VendorLibraries.cudnnAvailable() ? List.of("cudnn", own) : List.of(own);
    }

    /**
     * Adds the row {@code what variant}: an own variant's ceiling is cuDNN's row of the same {@code what}, timed just
     * before it where cuDNN loads; cuDNN's own row has none.
     */
    private static void vsCudnn(String what, String variant, double value, String unit, double ms) {
        boolean ceiling = !variant.equals("cudnn") && VendorLibraries.cudnnAvailable();
        ROWS.add(new Row(what + " " + variant, value, unit, ceiling ? "cuDNN" : "", ceiling ? rowValue(what + " cudnn") : 0,
                String.format(Locale.ROOT, "%.3f ms", ms)));
    }

    /**
     * Batch norm in training on a ResNet-20 activation (n, 16, 32, 32): the forward must read x and write y (8 bytes
     * an element), the backward read x and dy and write dx (12); 2x2 max pooling of (n, 64, 32, 32): read x, write a
     * quarter as much (5 bytes an element), and its backward read x, dy and write dx (4 + 1 + 1 + 4 = 10: x, y, dy, dx).
     */
    private static void batchNormAndPooling(CudaBackend be, int images) {
        int c = 16, hw = 32 * 32, e = images * c * hw;
        try (Buffer x = be.allocate(DType.FLOAT32, e); Buffer y = be.allocate(DType.FLOAT32, e); Buffer dx = be.allocate(DType.FLOAT32, e);
             Buffer gamma = be.allocate(DType.FLOAT32, c); Buffer beta = be.allocate(DType.FLOAT32, c);
             Buffer rm = be.allocate(DType.FLOAT32, c); Buffer rv = be.allocate(DType.FLOAT32, c); Buffer mean = be.allocate(DType.FLOAT32, c);
             Buffer inv = be.allocate(DType.FLOAT32, c); Buffer dg = be.allocate(DType.FLOAT32, c); Buffer db = be.allocate(DType.FLOAT32, c)) {
            be.fillRandom(x.ptr(), e, RandomDistribution.NORMAL, 0, 1, 6, 0);
            be.fill(gamma.ptr(), c, 1);
            be.fill(beta.ptr(), c, 0);
            be.fill(rm.ptr(), c, 0);
            be.fill(rv.ptr(), c, 1);
            String shape = "batchnorm train n=" + images + " c=16 32x32";
            for (String v : withCudnn("own_blockwise")) {
                CudaBackend vb = be.withChoices(KernelChoices.defaults().with("batchnorm=" + v, "GpuBenchmark"));
                double f = be.timeMillis(() -> vb.batchNormForwardTraining(images, c, hw, x.ptr(), gamma.ptr(), beta.ptr(), 1e-5, 0.1,
                        rm.ptr(), rv.ptr(), y.ptr(), mean.ptr(), inv.ptr()), 2, 20);
                double b = be.timeMillis(() -> vb.batchNormBackward(images, c, hw, x.ptr(), y.ptr(), gamma.ptr(), mean.ptr(), inv.ptr(),
                        dx.ptr(), dg.ptr(), db.ptr()), 2, 20);
                ROWS.add(new Row(shape + " fwd " + v, gbps(8.0 * e, f), "GB/s", "driver D2D copy", copyGbps, String.format(Locale.ROOT, "%.3f ms", f)));
                ROWS.add(new Row(shape + " bwd " + v, gbps(12.0 * e, b), "GB/s", "driver D2D copy", copyGbps, String.format(Locale.ROOT, "%.3f ms", b)));
            }
        }
        Pool2dGeometry g = new Pool2dGeometry(images, 64, 32, 32, 2, 2, 2, 2, 0, 0);
        int in = images * 64 * 32 * 32, out = in / 4;
        try (Buffer x = be.allocate(DType.FLOAT32, in); Buffer y = be.allocate(DType.FLOAT32, out); Buffer dx = be.allocate(DType.FLOAT32, in)) {
            be.fillRandom(x.ptr(), in, RandomDistribution.NORMAL, 0, 1, 7, 0);
            String shape = "maxpool 2x2 n=" + images + " c=64 32x32";
            for (String v : withCudnn("own_direct")) {
                CudaBackend vb = be.withChoices(KernelChoices.defaults().with("pool2d=" + v, "GpuBenchmark"));
                double f = be.timeMillis(() -> vb.maxPool2dForward(g, x.ptr(), y.ptr()), 2, 20);
                double b = be.timeMillis(() -> vb.maxPool2dBackward(g, x.ptr(), y.ptr(), y.ptr(), dx.ptr()), 2, 20);
                ROWS.add(new Row(shape + " fwd " + v, gbps(4.0 * (in + out), f), "GB/s", "driver D2D copy", copyGbps, String.format(Locale.ROOT, "%.3f ms", f)));
                ROWS.add(new Row(shape + " bwd " + v, gbps(4.0 * (2 * in + 2 * out), b), "GB/s", "driver D2D copy", copyGbps,
                        String.format(Locale.ROOT, "%.3f ms", b)));
            }
        }
    }

    /**
     * One LSTM layer of DeepOBS's character model (128 -> 128) over t = 50 steps of n sequences, forward with a reserve
     * and backward, in thousands of tokens (t * n) per second. Napkin math: 2 * 4h * (in + h) = 262,144 flops per
     * token forward and twice that backward; at n = 50 a step's recurrent GEMM is (50 x 128) x (128 x 512), far too
     * small to fill a GPU, so both variants are bound by the 50 sequential steps (cuDNN fuses each step).
     */
    private static void lstm(CudaBackend be, int n) {
        LstmGeometry g = new LstmGeometry(50, n, 128, 128);
        for (String v : withCudnn("own_steps")) {
            CudaBackend vb = be.withChoices(KernelChoices.defaults().with("lstm=" + v, "GpuBenchmark"));
            int reserveSize = vb.lstmReserveSize(g);
            try (Buffer x = be.allocate(DType.FLOAT32, g.inputSize()); Buffer wIh = be.allocate(DType.FLOAT32, g.weightIhSize());
                 Buffer wHh = be.allocate(DType.FLOAT32, g.weightHhSize()); Buffer bias = be.allocate(DType.FLOAT32, g.biasSize());
                 Buffer y = be.allocate(DType.FLOAT32, g.outputSize()); Buffer hT = be.allocate(DType.FLOAT32, g.stateSize());
                 Buffer cT = be.allocate(DType.FLOAT32, g.stateSize()); Buffer reserve = be.allocate(DType.FLOAT32, reserveSize);
                 Buffer dx = be.allocate(DType.FLOAT32, g.inputSize()); Buffer dwIh = be.allocate(DType.FLOAT32, g.weightIhSize());
                 Buffer dwHh = be.allocate(DType.FLOAT32, g.weightHhSize()); Buffer db = be.allocate(DType.FLOAT32, g.biasSize())) {
                be.fillRandom(x.ptr(), g.inputSize(), RandomDistribution.NORMAL, 0, 1, 8, 0);
                be.fillRandom(wIh.ptr(), g.weightIhSize(), RandomDistribution.UNIFORM, -0.088, 0.088, 9, 0);
                be.fillRandom(wHh.ptr(), g.weightHhSize(), RandomDistribution.UNIFORM, -0.088, 0.088, 10, 0);
                be.fill(bias.ptr(), g.biasSize(), 0);
                Runnable forward = () -> vb.lstmSequenceForward(g, x.ptr(), null, null, wIh.ptr(), wHh.ptr(), bias.ptr(), bias.ptr(),
                        y.ptr(), hT.ptr(), cT.ptr(), reserve.ptr());
                // the backward may use the reserve as scratch (NOTE [lstm-reserve]): each timed backward follows its forward
                Runnable both = () -> {
                    forward.run();
                    vb.lstmSequenceBackward(g, x.ptr(), null, null, wIh.ptr(), wHh.ptr(), y.ptr(), reserve.ptr(), y.ptr(), null, null,
                            dx.ptr(), null, null, dwIh.ptr(), dwHh.ptr(), db.ptr());
                };
                double f = be.timeMillis(forward, 2, 10), fb = be.timeMillis(both, 2, 10);
                double tokens = (double) g.t() * g.n() / 1e3;
                String shape = "lstm t=50 n=" + n + " 128->128";
                vsCudnn(shape + " fwd", v, tokens / (f * 1e-3), "ktok/s", f);
                vsCudnn(shape + " fwd+bwd", v, tokens / (fb * 1e-3), "ktok/s", fb);
            }
        }
    }
}
