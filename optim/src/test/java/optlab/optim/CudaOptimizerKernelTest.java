package optlab.optim;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.cuda.Cuda;
import optlab.kernels.testkit.GpuTest;
import optlab.nn.ParameterArena;
import optlab.nn.Sequential;
import optlab.optim.Numerics.DecayConvention;
import optlab.optim.Numerics.EpsPlacement;
import optlab.optim.Numerics.StatePrecision;
import optlab.optim.Numerics.WeightDecayMode;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every fused optimizer kernel of {@code kernels/cuda/src/main/cuda} against its Java reference (the host
 * {@link FusedKernel#runHost}, which calls the rule's {@code step}), launched directly with
 * JCuda as {@code CudaAddKernelTest} does: every rule and numerics variant, float32 and float64
 * state, odd sizes (1, 7, 1023, 4099, 100003), ranges that start off the 16-byte boundary (the head
 * and tail paths) or whose operands are misaligned differently (the scalar fallback), and several
 * launch configurations. Each step starts both sides from the same values, and x and every state
 * buffer must agree within {@link #MAX_ULPS} ulps per step (the kernels use round-to-nearest intrinsics
 * in the reference's order, so 0 is expected).
 *
 * <p>The update kernels ({@code <rule>_update_*}, NOTE [update-probe]) likewise against their host kernels, at
 * the same launches, bit for bit (u is one function of read-only inputs: nothing may drift), with an output
 * poisoned with NaN on both sides (so an element left unwritten, or written outside the range, shows); and
 * {@link Optimizer#computeUpdate} end to end on a GPU arena against the same optimizer on the CPU.
 *
 * <p>GPU-tagged ({@link GpuTest}): 
* skipped with the probe's reasons where no GPU is usable; run alone with {@code -Dgroups=gpu}.
 */
@GpuTest
class CudaOptimizerKernelTest {
    private static final int MAX_ULPS = 2;
    private static final int STEPS = 8;
    /**
     * The large launches' n: 100,003 on a GPU; 30,011 under {@code -Doptlab.test.gpuSmall=true} (bin/test's emulator
     * stage), still more than grid 98 x block 256 threads cover, so the grid-stride loop still takes a second round.
     */
    private static final int LARGE = Boolean.getBoolean("optlab.test.gpuSmall") ? 30_011 : 100_003;
    /**
     * The grid with more threads than elements: 1,024 blocks of 256 on a GPU; 128 under gpuSmall (32,768 threads for
     * 30,011 elements), since the emulator runs every thread of the grid, idle or not.
     */
    private static final int WIDE = Boolean.getBoolean("optlab.test.gpuSmall") ? 128 : 1024;

    static Stream<Arguments> cases() {
        List<OptimizerConfig> cs = new ArrayList<>();
        cs.add(Presets.builder("choi.sgd").build());
        cs.add(Presets.builder("choi.sgd").weightDecayMode(WeightDecayMode.L2, null).weightDecay(0.1).preset("sgd l2").build());
        cs.add(Presets.builder("choi.momentum").weightDecayMode(WeightDecayMode.DECOUPLED, DecayConvention.LAMBDA_LR)
                .weightDecay(0.1).preset("momentum decoupled").build());
        cs.add(Presets.builder("choi.nesterov").weightDecayMode(WeightDecayMode.PROXIMAL, DecayConvention.LAMBDA_ETA_T)
                .weightDecay(0.01).preset("nesterov proximal").build());
        cs.add(Presets.builder("choi.rmsprop").momentum(0.9).build());
        cs.add(Presets.builder("choi.rmsprop").initialAccumulator(0).epsPlacement(EpsPlacement.OUTSIDE_UNCORRECTED).eps(1e-3)
                .preset("rmsprop eps outside").build());
        cs.add(Presets.builder("choi.adam").build());
        cs.add(Presets.builder("choi.nadam").build());
        cs.add(Presets.builder("pytorch.adam").weightDecay(0.01).build());
        cs.add(Presets.builder("pytorch.adamw").build());
        cs.add(Presets.builder("zhuang.adamw").weightDecay(0.01).build());
        cs.add(Presets.builder("zhuang.adamprox").weightDecay(0.01).build());
        cs.add(Presets.builder("pytorch.adam").epsPlacement(EpsPlacement.INSIDE_SQRT).eps(1e-4).preset("adam eps inside").build());
        cs.add(Presets.builder("choi.adam").biasCorrection(false).preset("adam no bias correction").build());
        cs.add(Presets.builder("zhuang.adamw").eps(0).weightDecay(0.01).preset("adamw eps 0").build());
        cs.add(Presets.builder("choi.rmsprop").initialAccumulator(0).eps(0).epsPlacement(EpsPlacement.OUTSIDE_UNCORRECTED)
                .preset("rmsprop v0=0 eps 0").build());
        List<Arguments> out = new ArrayList<>();
        for (OptimizerConfig c : cs) {
            out.add(Arguments.of(c.preset() + " f32", c));
            if (c.rule().hasState()) {
                OptimizerConfig c64 = c.toBuilder().statePrecision(StatePrecision.FLOAT64).build();
                out.add(Arguments.of(c.preset() + " f64state", c64));
            }
        }
        return out.stream();
    }

    /**
     * (n, element offset of x and g, extra offset of the state buffers, grid, block). Block 1024 is the largest the
     * backend may pick (LaunchConfig): on a GPU it fails to launch if the kernel needs more than 64 registers per
     * thread (optim_common.cuh, 4.), which the CPU emulator cannot show.
     */
    private static final int[][] LAUNCHES = {
        {1, 0, 0, 1, 1}, {7, 0, 0, 1, 32}, {7, 3, 0, 2, 32}, {1023, 1, 0, 3, 97}, {4099, 2, 0, 7, 256},
        {4099, 0, 1, 5, 128}, {LARGE, 3, 0, 98, 256}, {LARGE, 0, 0, WIDE, 256}, {5003, 1, 0, 2, 1024},
    };

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void kernelMatchesTheJavaReferenceEveryStep(String name, OptimizerConfig config) {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
        try (ParameterArena tiny = Fixtures.arenaOf(1f); Optimizer opt = config.create(tiny)) {
            FusedKernel kernel = opt.kernel();
            FusedKernel.CudaFunction cf = kernel.cuda();
            CUfunction f = Cuda.function(cf.module(), cf.function());
            int states = opt.stateTensors().size();
            boolean f64 = config.numerics().statePrecision() == StatePrecision.FLOAT64;
            for (int[] l : LAUNCHES) {
                run(name + " " + cf.function(), opt, kernel, f, states, f64, l[0], l[1], l[2], l[3], l[4]);
            }
        }
    }

    private static void run(String what, Optimizer opt, FusedKernel kernel, CUfunction f, int states, boolean f64,
                            int n, int off, int stateExtra, int grid, int block) {
        SplittableRandom r = new SplittableRandom(n * 31L + off);
        int so = off + stateExtra; // the state's element offset (differs from x's to exercise the scalar fallback)
        float[] x = new float[off + n], g = new float[off + n];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        Object[] st = new Object[states];
        for (int k = 0; k < states; k++) {
            if (f64) {
                double[] s = new double[so + n];
                for (int i = 0; i < s.length; i++) s[i] = k == 1 || opt.config().rule() == Rule.RMSPROP && k == 0 ? Math.abs(r.nextGaussian()) : r.nextGaussian();
                st[k] = s;
            } else {
                float[] s = new float[so + n];
                for (int i = 0; i < s.length; i++) s[i] = (float) (k == 1 || opt.config().rule() == Rule.RMSPROP && k == 0 ? Math.abs(r.nextGaussian()) : r.nextGaussian());
                st[k] = s;
            }
        }
        for (int k = 0; k < states; k++) { // coordinates that never saw a gradient: 0/0 with eps = 0 (NOTE [zero-over-zero])
            for (int i = 0; i < so + n; i += 13) {
                if (f64) ((double[]) st[k])[i] = 0;
                else ((float[]) st[k])[i] = 0;
            }
        }
        int stateBytes = f64 ? 8 : 4;
        CUdeviceptr dx = alloc(4L * x.length), dg = alloc(4L * g.length);
        CUdeviceptr[] ds = new CUdeviceptr[states];
        for (int k = 0; k < states; k++) ds[k] = alloc((long) stateBytes * (so + n));
        try {
            for (long t = 1; t <= STEPS; t++) {
                for (int i = 0; i < g.length; i++) g[i] = i % 13 == 0 ? 0f : (float) (r.nextGaussian() * (t % 3 == 0 ? 1e-3 : 1));
                // both sides start the step from the same values
                cuMemcpyHtoD(dx, Pointer.to(x), 4L * x.length);
                cuMemcpyHtoD(dg, Pointer.to(g), 4L * g.length);
                for (int k = 0; k < states; k++) cuMemcpyHtoD(ds[k], pointer(st[k]), (long) stateBytes * (so + n));
                double[] scalars = opt.scalars(t, opt.config().schedule().multiplier(t), opt.groups().get(0));
                // device
                List<Pointer> args = new ArrayList<>();
                args.add(Pointer.to(new int[] {n}));
                args.add(Pointer.to(dx.withByteOffset(4L * off)));
                args.add(Pointer.to(dg.withByteOffset(4L * off)));
                for (int k = 0; k < states; k++) args.add(Pointer.to(ds[k].withByteOffset((long) stateBytes * so)));
                for (double s : scalars) args.add(Pointer.to(new double[] {s}));
                cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, null, Pointer.to(args.toArray(new Pointer[0])), null);
                cuCtxSynchronize();
                float[] xd = new float[x.length];
                cuMemcpyDtoH(Pointer.to(xd), dx, 4L * x.length);
                Object[] sd = new Object[states];
                for (int k = 0; k < states; k++) {
                    sd[k] = f64 ? new double[so + n] : new float[so + n];
                    cuMemcpyDtoH(pointer(sd[k]), ds[k], (long) stateBytes * (so + n));
                }
                // host reference over the same range
                kernel.runHost(host(x, g, st, off, so), scalars, 0, n);
                String at = what + " n=" + n + " offset=" + off + "+" + stateExtra + " grid=" + grid + " block=" + block + " step " + t;
                assertClose(at + ": x", x, xd);
                for (int k = 0; k < states; k++) {
                    if (f64) assertClose(at + ": state " + k, (double[]) st[k], (double[]) sd[k]);
                    else assertClose(at + ": state " + k, (float[]) st[k], (float[]) sd[k]);
                }
            }
        } finally {
            cuMemFree(dx);
            cuMemFree(dg);
            for (CUdeviceptr d : ds) cuMemFree(d);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void updateKernelMatchesItsHostKernelBitForBit(String name, OptimizerConfig config) {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
        try (ParameterArena tiny = Fixtures.arenaOf(1f); Optimizer opt = config.create(tiny)) {
            FusedKernel kernel = opt.updateKernel();
            FusedKernel.CudaFunction cf = kernel.cuda();
            CUfunction f = Cuda.function(cf.module(), cf.function());
            int states = opt.stateTensors().size();
            boolean f64 = config.numerics().statePrecision() == StatePrecision.FLOAT64;
            for (int[] l : LAUNCHES) {
                runUpdate(name + " " + cf.function(), opt, kernel, f, states, f64, l[0], l[1], l[2], l[3], l[4]);
            }
        }
    }

    /** One launch configuration of an update kernel: out = u from random xOld, g and state, three steps' scalars. */
    private static void runUpdate(String what, Optimizer opt, FusedKernel kernel, CUfunction f, int states, boolean f64,
                                  int n, int off, int stateExtra, int grid, int block) {
        SplittableRandom r = new SplittableRandom(n * 37L + off);
        int so = off + stateExtra;
        float[] out = new float[off + n], xOld = new float[off + n], g = new float[off + n];
        Object[] st = new Object[states];
        for (int k = 0; k < states; k++) st[k] = f64 ? new double[so + n] : new float[so + n];
        int stateBytes = f64 ? 8 : 4;
        CUdeviceptr dout = alloc(4L * out.length), dx = alloc(4L * xOld.length), dg = alloc(4L * g.length);
        CUdeviceptr[] ds = new CUdeviceptr[states];
        for (int k = 0; k < states; k++) ds[k] = alloc((long) stateBytes * (so + n));
        try {
            for (long t = 1; t <= 3; t++) {
                java.util.Arrays.fill(out, Float.NaN); // poison: both sides must write every element of the range, and only those
                for (int i = 0; i < xOld.length; i++) {
                    xOld[i] = (float) r.nextGaussian();
                    g[i] = i % 13 == 0 ? 0f : (float) (r.nextGaussian() * (t % 2 == 0 ? 1e-3 : 1));
                }
                for (int k = 0; k < states; k++) {
                    boolean nonNegative = k == 1 || opt.config().rule() == Rule.RMSPROP && k == 0; // v, the RMSProp accumulator
                    for (int i = 0; i < so + n; i++) {
                        double s = i % 13 == 0 ? 0 : nonNegative ? Math.abs(r.nextGaussian()) : r.nextGaussian(); // 0/0 with eps = 0
                        if (f64) ((double[]) st[k])[i] = s;
                        else ((float[]) st[k])[i] = (float) s;
                    }
                }
                cuMemcpyHtoD(dout, Pointer.to(out), 4L * out.length);
                cuMemcpyHtoD(dx, Pointer.to(xOld), 4L * xOld.length);
                cuMemcpyHtoD(dg, Pointer.to(g), 4L * g.length);
                for (int k = 0; k < states; k++) cuMemcpyHtoD(ds[k], pointer(st[k]), (long) stateBytes * (so + n));
                double[] scalars = opt.scalars(t, opt.config().schedule().multiplier(t), opt.groups().get(0));
                List<Pointer> args = new ArrayList<>();
                args.add(Pointer.to(new int[] {n}));
                args.add(Pointer.to(dout.withByteOffset(4L * off)));
                args.add(Pointer.to(dx.withByteOffset(4L * off)));
                args.add(Pointer.to(dg.withByteOffset(4L * off)));
                for (int k = 0; k < states; k++) args.add(Pointer.to(ds[k].withByteOffset((long) stateBytes * so)));
                for (double s : scalars) args.add(Pointer.to(new double[] {s}));
                cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, null, Pointer.to(args.toArray(new Pointer[0])), null);
                cuCtxSynchronize();
                float[] outD = new float[out.length];
                cuMemcpyDtoH(Pointer.to(outD), dout, 4L * out.length);
                kernel.runHost(hostUpdate(out, xOld, g, st, off, so), scalars, 0, n);
                String at = what + " n=" + n + " offset=" + off + "+" + stateExtra + " grid=" + grid + " block=" + block + " step " + t;
                for (int i = 0; i < out.length; i++) {
                    int fi = i;
                    assertTrue(Float.floatToIntBits(out[i]) == Float.floatToIntBits(outD[i]),
                            () -> at + ": u[" + fi + "]: host " + out[fi] + ", kernel " + outD[fi]);
                    assertTrue(i < off ? Float.isNaN(out[i]) : Float.isFinite(out[i]), () -> at + ": u[" + fi + "] = " + out[fi]);
                }
            }
        } finally {
            cuMemFree(dout);
            cuMemFree(dx);
            cuMemFree(dg);
            for (CUdeviceptr d : ds) cuMemFree(d);
        }
    }

    private static FusedKernel.HostOperands hostUpdate(float[] out, float[] xOld, float[] g, Object[] st, int off, int so) {
        return new FusedKernel.HostOperands() {
            @Override
            public float[] f32(int j) {
                return j == 0 ? out : j == 1 ? xOld : j == 2 ? g : (float[]) st[j - 3];
            }

            @Override
            public double[] f64(int j) {
                return (double[]) st[j - 3];
            }

            @Override
            public int offset(int j) {
                return j < 3 ? off : so;
            }
        };
    }

    static Stream<Arguments> endToEnd() {
        return Stream.of(
                Presets.builder("zhuang.adamw").weightDecay(0.05).build(),
                Presets.builder("zhuang.adam_l2").weightDecay(0.05).statePrecision(StatePrecision.FLOAT64).preset("adam_l2 f64state").build(),
                Presets.builder("choi.nadam").weightDecayMode(WeightDecayMode.L2, null).weightDecay(0.05).preset("nadam l2").build(),
                Presets.builder("zhuang.adamprox").eps(0).weightDecay(0.05).preset("adamprox eps 0").build(),
                Presets.builder("choi.nesterov").weightDecayMode(WeightDecayMode.L2, null).weightDecay(0.01).preset("nesterov l2").build(),
                Presets.builder("choi.rmsprop").momentum(0.9).statePrecision(StatePrecision.FLOAT64).preset("rmsprop f64state").build(),
                Presets.builder("choi.sgd").build())
            .map(c -> c.toBuilder().group(new OptimizerConfig.GroupSettings("no_decay", c.lr() / 2, 0.0)).build())
            .map(c -> Arguments.of(c.preset(), c));
    }

    /**
     * {@link Optimizer#computeUpdate} through the CUDA backend (five operands per group launch, the group offsets) on a
     * grouped two-layer arena on the GPU, against the same optimizer on the CPU fed the same gradients, for five steps.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("endToEnd")
    void computeUpdateOnTheGpuEqualsTheCpu(String name, OptimizerConfig config) {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
        Device gpu = Device.cuda(0);
        Sequential onGpu = Fixtures.twoLayers();
        onGpu.to(gpu);
        try (ParameterArena cpu = Fixtures.grouped(Fixtures.twoLayers()); ParameterArena dev = Fixtures.grouped(onGpu);
             Optimizer oc = config.create(cpu); Optimizer od = config.create(dev)) {
            assertEquals(gpu, dev.values().device());
            assertEquals(2, dev.groups().size());
            int n = cpu.size();
            SplittableRandom r = new SplittableRandom(3);
            for (int t = 1; t <= 5; t++) {
                float[] g = new float[n];
                for (int i = 0; i < n; i++) g[i] = i % 11 == 0 ? 0f : (float) r.nextGaussian();
                try (Tensor gc = Tensor.of(g, n); Tensor gd = gc.to(gpu); Tensor xc = cpu.values().copy(); Tensor xd = dev.values().copy();
                     Tensor uc = Tensor.full(Shape.of(n), Double.NaN, DType.FLOAT32, Device.CPU);
                     Tensor ud = Tensor.full(Shape.of(n), Double.NaN, DType.FLOAT32, gpu)) {
                    cpu.grads().copyFrom(gc);
                    dev.grads().copyFrom(gd);
                    assertTrue(oc.step());
                    assertTrue(od.step());
                    assertTrue(oc.computeUpdate(xc, uc));
                    assertTrue(od.computeUpdate(xd, ud));
                    float[] expected = uc.toFloatArray();
                    for (float u : expected) assertTrue(Float.isFinite(u), name + ": the CPU's u is not finite");
                    assertClose(name + " step " + t + ": u", expected, ud.toFloatArray());
                    assertClose(name + " step " + t + ": x", cpu.values().toFloatArray(), dev.values().toFloatArray());
                }
            }
        }
    }

    private static CUdeviceptr alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        cuMemAlloc(p, Math.max(bytes, 4));
        return p;
    }

    private static Pointer pointer(Object a) {
        return a instanceof float[] f ? Pointer.to(f) : Pointer.to((double[]) a);
    }

    private static FusedKernel.HostOperands host(float[] x, float[] g, Object[] st, int off, int so) {
        return new FusedKernel.HostOperands() {
            @Override
            public float[] f32(int j) {
                return j == 0 ? x : j == 1 ? g : (float[]) st[j - 2];
            }

            @Override
            public double[] f64(int j) {
                return (double[]) st[j - 2];
            }

            @Override
            public int offset(int j) {
                return j < 2 ? off : so;
            }
        };
    }

    /** Distance in units in the last place (0 for equal values, including two NaNs). */
    static long ulps(float a, float b) {
        if (Float.isNaN(a) && Float.isNaN(b)) return 0;
        int ia = Float.floatToIntBits(a), ib = Float.floatToIntBits(b);
        if (ia < 0) ia = Integer.MIN_VALUE - ia;
        if (ib < 0) ib = Integer.MIN_VALUE - ib;
        return Math.abs((long) ia - ib);
    }

    static long ulps(double a, double b) {
        if (Double.isNaN(a) && Double.isNaN(b)) return 0;
        long ia = Double.doubleToLongBits(a), ib = Double.doubleToLongBits(b);
        if (ia < 0) ia = Long.MIN_VALUE - ia;
        if (ib < 0) ib = Long.MIN_VALUE - ib;
        return Math.abs(ia - ib);
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        for (int i = 0; i < expected.length; i++) {
            long u = ulps(expected[i], actual[i]);
            int fi = i;
            assertTrue(u <= MAX_ULPS, () -> what + "[" + fi + "]: reference " + expected[fi] + ", kernel " + actual[fi] + " (" + u + " ulps)");
        }
    }

    private static void assertClose(String what, double[] expected, double[] actual) {
        for (int i = 0; i < expected.length; i++) {
            long u = ulps(expected[i], actual[i]);
            int fi = i;
            assertTrue(u <= MAX_ULPS, () -> what + "[" + fi + "]: reference " + expected[fi] + ", kernel " + actual[fi] + " (" + u + " ulps)");
        }
    }

    /**
     * {@code bin/optlab kernels check} on a compiled fused kernel: the own {@code adam_f32} and {@code rmsprop_f32},
     * loaded from their fatbins as user kernels (an odd block size for one), pass against the built-in kernels run by the
     * CPU, on every operand. (A wrong kernel failing, with the worst element named, is KernelsCommandTest's: the same
     * comparison code.)
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource({"adam_f32, optim_adam, adam_f32", "rmsprop_f32, optim_rmsprop, rmsprop_f32:block=96",
        "momentum_f32, optim_sgd, momentum_f32"})
    void aCompiledFusedKernelIsCheckedAgainstTheBuiltInOne(String kernel, String module, String function) throws Exception {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
        java.nio.file.Path file = java.nio.file.Files.createTempFile("optlab-" + module, ".fatbin");
        try (var in = Cuda.class.getResourceAsStream(Cuda.resource(module))) {
            java.nio.file.Files.write(file, in.readAllBytes());
        }
        try {
            var r = optlab.kernels.testkit.Conformance.check("fused." + kernel + "=user:" + file + ":" + function, Device.cuda(0), 5);
            assertTrue(r.passed(), String.join("\n", r.lines()));
            assertEquals(3 * 4 * (kernel.startsWith("momentum") ? 3 : 4), r.checks(), "sizes x draws x operands compared");
        } finally {
            java.nio.file.Files.delete(file);
        }
    }
}
