package optlab.experiments.bench;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD32;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import optlab.autograd.Variable;
import optlab.experiments.Cli;
import optlab.kernels.Backends;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.Ptr;
import optlab.kernels.RandomDistribution;
import optlab.kernels.cuda.Cuda;
import optlab.nn.Module;
import optlab.nn.Parameter;
import optlab.nn.ParameterArena;
import optlab.optim.NonFinitePolicy;
import optlab.optim.Numerics.StatePrecision;
import optlab.optim.Optimizer;
import optlab.optim.OptimizerConfig;
import optlab.optim.Presets;
import optlab.tensor.Generator;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Update throughput of the fused optimizer kernels (docs/BENCHMARKS.md, "Optimizer update throughput"),
 * as GB/s next to a plain copy of the same number of bytes measured in the same run, so the figure
 * reads as a fraction of what the memory system delivers.
 *
 * <p>Napkin math: an update reads x, g and every state buffer and writes x and the state, once each:
 * <pre>
 *   bytes/element = 4 (x read) + 4 (x write) + 4 (g read) + 2 * s per state buffer (s = 4 float32, 8 float64)
 *   SGD 12, Momentum/Nesterov 20, RMSProp/Adam/NAdam 28, Adam with float64 state 44
 * </pre>
 * The copy baseline moves the same bytes: it copies bytes/2 from one buffer to another (a read and a
 * write of each byte), with the backend's own copy (on the CPU: {@code System.arraycopy} split over
 * the cores; on the GPU: {@code cuMemcpyDtoD}). The update is timed alone (the rule's fused launch,
 * {@link NonFinitePolicy#UNCHECKED}); the column "step+check" adds the non-finite gradient check, one
 * more read of g (its bytes are counted). Each figure is the median of {@code --reps} timings after
 * warm-up, copy and update timed alternately so that noise from a shared machine hits both alike.
 *
 * <p>The GPU section runs when a CUDA device is usable: each rule's kernel is launched directly with
 * JCuda (256 threads per block, a grid covering n/4 capped at 8 blocks per SM), timed with CUDA
 * events, next to {@code cuMemcpyDtoD} of the same bytes.
 *
 * <pre>
 *   (source bin/java-env; optlab_run_main optlab.experiments.bench.OptimizerBenchmark)    # -Xmx8g by default
 *   options: --sizes 1000000,25000000,100000000  --rules zhuang.adamw,...  --reps 7  --cpu on|off  --gpu auto|off
 * </pre>
 * 100M parameters with Adam take 0.8 GB for x and g, 0.8 GB (float32) or 1.6 GB (float64) of state and
 * 2.8 GB of copy buffers: run with at least -Xmx8g.
 */
@Command(name = "bench-optimizers", mixinStandardHelpOptions = true,
        description = "Fused optimizer update throughput (GB/s) against a copy of the same bytes, CPU and GPU.")
public final class OptimizerBenchmark implements Callable<Integer> {
    @Option(names = "--sizes", split = ",", defaultValue = "1000000,25000000,100000000",
            description = "parameter counts (default: ${DEFAULT-VALUE})")
    int[] sizes;

    @Option(names = "--rules", split = ",",
            defaultValue = "zhuang.adamw,zhuang.adamw+f64,choi.adam,choi.nadam,choi.rmsprop,choi.momentum,choi.sgd",
            description = "presets; a '+f64' suffix selects float64 state (default: ${DEFAULT-VALUE})")
    String[] rules;

    @Option(names = "--reps", defaultValue = "7", description = "timed repetitions per figure; the median is reported (default: ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--gpu", defaultValue = "auto", description = "auto (when a GPU is usable) or off (default: ${DEFAULT-VALUE})")
    String gpu;

    @Option(names = "--cpu", defaultValue = "on", description = "on or off (default: ${DEFAULT-VALUE})")
    String cpu;

    public static void main(String[] args) {
        System.exit(Cli.run(new OptimizerBenchmark(), args));
    }

    /** A model that is one flat parameter of n elements: the arena of an n-parameter model. */
    static final class Flat extends Module {
        Flat(int n, Generator gen) {
            register("w", new Parameter(Tensor.random(RandomDistribution.NORMAL, 0, 1, gen, Shape.of(n), DType.FLOAT32, Device.CPU)));
        }

        @Override
        public Variable forward(Variable x) {
            return x;
        }
    }

    static OptimizerConfig config(String rule) {
        boolean f64 = rule.endsWith("+f64");
        OptimizerConfig.Builder b = Presets.builder(f64 ? rule.substring(0, rule.length() - 4) : rule)
                .lr(1e-4).nonFiniteGradients(NonFinitePolicy.UNCHECKED);
        if (f64) b.statePrecision(StatePrecision.FLOAT64);
        return b.build();
    }

    /** Bytes an update moves per element: x read and written, g read, each state buffer read and written. */
    static long bytesPerElement(Optimizer opt) {
        long b = 12;
        for (Tensor s : opt.stateTensors().values()) b += 2L * s.dtype().bytes();
        return b;
    }

    @Override
    public Integer call() {
        System.out.printf("optimizer update throughput, %s; java %s; %d processors; %s%n", Backends.of(Device.CPU).name(),
                System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), LocalDate.now());
        if (cpu.equals("on")) cpuBench();
        if (!gpu.equals("off")) {
            Cuda.Status s = Cuda.probe();
            if (s.usable()) gpu();
            else System.out.println("\nGPU: skipped. " + s);
        }
        return 0;
    }

    /**
     * Median seconds of {@code a} and of {@code b} over reps, timed alternately, after a warm-up of at
     * least 10 calls each and half a second (JIT compilation of every branch the rule takes).
     */
    private double[] alternate(Runnable a, Runnable b) {
        long warmStart = System.nanoTime();
        for (int i = 0; i < 10 || System.nanoTime() - warmStart < 500_000_000L; i++) {
            a.run();
            b.run();
        }
        double[] ta = new double[reps], tb = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            a.run();
            long t1 = System.nanoTime();
            b.run();
            long t2 = System.nanoTime();
            ta[i] = (t1 - t0) / 1e9;
            tb[i] = (t2 - t1) / 1e9;
        }
        Arrays.sort(ta);
        Arrays.sort(tb);
        return new double[] {ta[reps / 2], tb[reps / 2]};
    }

    private void cpuBench() {
        System.out.println("\nCPU (GB/s = bytes moved / median time; copies of the same bytes in the same run: the backend's copy,"
                + " System.arraycopy on every core, and a Vector API loop on every core; ratio = update / the faster copy)");
        System.out.printf("%-18s %11s %6s %10s %10s %10s %10s %7s %13s%n", "rule", "params", "B/el", "update ms", "update GB/s",
                "arraycopy", "vec copy", "ratio", "step+check GB/s");
        for (int n : sizes) {
            Generator gen = new Generator(1);
            try (ParameterArena arena = ParameterArena.pack(new Flat(n, gen))) {
                arena.grads().fillRandomInPlace(RandomDistribution.NORMAL, 0, 1e-2, gen);
                long maxBytes = 0;
                for (String r : rules) maxBytes = Math.max(maxBytes, r.endsWith("+f64") ? 44L : 28L);
                // copy buffers: half the largest update's bytes per element, capped at 14 bytes per element;
                // bigger copies wrap around them (same bytes, fewer gigabytes of heap)
                long copyFloats = (long) n * Math.min(maxBytes / 2, 14) / 4;
                Tensor src = Tensor.full(Shape.of((int) copyFloats), 1, DType.FLOAT32, Device.CPU);
                Tensor dst = Tensor.zeros(Shape.of((int) copyFloats), DType.FLOAT32, Device.CPU);
                try {
                    for (String rule : rules) {
                        OptimizerConfig c = config(rule);
                        // one optimizer at a time: at 100M parameters each holds up to 1.6 GB of state
                        long perElement;
                        double[] t, tv;
                        try (Optimizer opt = c.create(arena)) {
                            perElement = bytesPerElement(opt);
                            long bytes = perElement * n;
                            t = alternate(() -> copyBytes(src, dst, bytes / 2), opt::step);
                        }
                        try (Optimizer checked = c.toBuilder().nonFiniteGradients(NonFinitePolicy.SKIP).build().create(arena)) {
                            long bytes = perElement * n;
                            tv = alternate(() -> vectorCopyBytes(src, dst, bytes / 2), checked::step);
                        }
                        long bytes = perElement * n;
                        double copyGbs = Math.max(bytes / t[0], bytes / tv[0]) / 1e9, upd = bytes / t[1] / 1e9;
                        double chk = (bytes + 4L * n) / tv[1] / 1e9;
                        System.out.printf("%-18s %11s %6d %10.2f %10.2f %10.2f %10.2f %6.0f%% %13.2f%n", rule, String.format("%,d", n),
                                perElement, t[1] * 1e3, upd, bytes / t[0] / 1e9, bytes / tv[0] / 1e9,
                                100 * upd / copyGbs, chk);
                    }
                } finally {
                    src.close();
                    dst.close();
                }
            }
        }
    }

    /** Copies {@code bytes} bytes from src to dst through the backend, wrapping around the buffers. */
    private static void copyBytes(Tensor src, Tensor dst, long bytes) {
        long floats = bytes / 4;
        int cap = src.numel();
        while (floats > 0) {
            int len = (int) Math.min(cap, floats);
            if (len == cap) {
                dst.copyFrom(src);
            } else {
                try (Tensor s = src.narrow(0, 0, len); Tensor d = dst.narrow(0, 0, len)) {
                    d.copyFrom(s);
                }
            }
            floats -= len;
        }
    }

    /**
     * A copy written as a fused kernel, lane by lane with the Vector API: the same plumbing as the
     * optimizers' fused passes (Backend.fused, split over the cores), doing nothing but moving bytes.
     */
    static final FusedKernel VECTOR_COPY = new FusedKernel() {
        @Override
        public String name() {
            return "copy_f32";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            float[] s = ops.f32(0), d = ops.f32(1);
            int so = ops.offset(0), dof = ops.offset(1);
            int i = from, upper = from + F.loopBound(to - from);
            for (; i < upper; i += F.length()) FloatVector.fromArray(F, s, so + i).intoArray(d, dof + i);
            for (; i < to; i++) d[dof + i] = s[so + i];
        }
    };

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** Copies {@code bytes} bytes from src to dst with {@link #VECTOR_COPY}, wrapping around the buffers. */
    private static void vectorCopyBytes(Tensor src, Tensor dst, long bytes) {
        long floats = bytes / 4;
        while (floats > 0) {
            int len = (int) Math.min(src.numel(), floats);
            src.backend().fused(VECTOR_COPY, len, new Ptr[] {src.ptr(), dst.ptr()}, new double[0]);
            floats -= len;
        }
    }

    // ------------------------------------------------------------------------------------------------
    // GPU: the kernels launched directly (the CUDA backend will launch them the same way)
    // ------------------------------------------------------------------------------------------------

    private void gpu() {
        System.out.println("\nGPU " + Cuda.probe().steps() + "\n(CUDA events; copy = cuMemcpyDtoD of half the bytes, same run; "
                + "launch: 256 threads, grid = min(ceil(n/1024), 8 x SMs))");
        System.out.printf("%-18s %11s %6s %10s %10s %10s %7s%n", "rule", "params", "B/el", "update ms", "update GB/s", "copy GB/s", "ratio");
        Cuda.makeCurrent();
        int[] sms = new int[1];
        jcuda.driver.CUdevice dev = new jcuda.driver.CUdevice();
        jcuda.driver.JCudaDriver.cuDeviceGet(dev, 0);
        jcuda.driver.JCudaDriver.cuDeviceGetAttribute(sms, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
        try (ParameterArena tiny = ParameterArena.pack(new Flat(4, new Generator(0)))) {
            for (int n : sizes) {
                for (String rule : rules) {
                    try (Optimizer opt = config(rule).create(tiny)) {
                        gpuOne(rule, opt, n, sms[0]);
                    }
                }
            }
        }
    }

    private void gpuOne(String rule, Optimizer opt, int n, int sms) {
        FusedKernel k = opt.fusedKernel();
        CUfunction f = Cuda.function(k.cuda().module(), k.cuda().function());
        double[] scalars = opt.kernelScalars(1, opt.groups().get(0));
        List<CUdeviceptr> buffers = new ArrayList<>();
        List<Pointer> args = new ArrayList<>();
        args.add(Pointer.to(new int[] {n}));
        // x, g float32; the state in its precision; start values: x = g = 1e-3 as float bits, state 0 (v >= 0)
        int[] elementBytes = new int[2 + opt.stateTensors().size()];
        elementBytes[0] = elementBytes[1] = 4;
        int j = 2;
        for (Tensor s : opt.stateTensors().values()) elementBytes[j++] = s.dtype().bytes();
        for (int b : elementBytes) {
            CUdeviceptr p = new CUdeviceptr();
            cuMemAlloc(p, (long) b * n);
            cuMemsetD32(p, b == 4 && buffers.size() < 2 ? Float.floatToIntBits(1e-3f) : 0, (long) b * n / 4);
            buffers.add(p);
            args.add(Pointer.to(p));
        }
        for (double s : scalars) args.add(Pointer.to(new double[] {s}));
        Pointer params = Pointer.to(args.toArray(new Pointer[0]));
        int block = 256, grid = (int) Math.max(1, Math.min((n / 4L + block - 1) / block, 8L * sms));
        long bytes = bytesPerElement(opt) * n;
        CUdeviceptr csrc = new CUdeviceptr(), cdst = new CUdeviceptr();
        cuMemAlloc(csrc, bytes / 2);
        cuMemAlloc(cdst, bytes / 2);
        CUevent e0 = new CUevent(), e1 = new CUevent();
        cuEventCreate(e0, 0);
        cuEventCreate(e1, 0);
        try {
            Runnable update = () -> cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, null, params, null);
            Runnable copy = () -> cuMemcpyDtoD(cdst, csrc, bytes / 2);
            double tu = gpuMedian(update, e0, e1), tc = gpuMedian(copy, e0, e1);
            double upd = bytes / tu / 1e9, cp = bytes / tc / 1e9;
            System.out.printf("%-18s %11s %6d %10.3f %10.1f %10.1f %6.0f%%%n", rule, String.format("%,d", n), bytesPerElement(opt),
                    tu * 1e3, upd, cp, 100 * upd / cp);
        } finally {
            cuEventDestroy(e0);
            cuEventDestroy(e1);
            cuMemFree(csrc);
            cuMemFree(cdst);
            for (CUdeviceptr p : buffers) cuMemFree(p);
        }
    }

    /** Median seconds per call of {@code r}, timed with events over batches of 10 calls. */
    private double gpuMedian(Runnable r, CUevent e0, CUevent e1) {
        for (int i = 0; i < 3; i++) r.run();
        cuCtxSynchronize();
        double[] t = new double[reps];
        float[] ms = new float[1];
        for (int i = 0; i < reps; i++) {
            cuEventRecord(e0, null);
            for (int k = 0; k < 10; k++) r.run();
            cuEventRecord(e1, null);
            cuEventSynchronize(e1);
            cuEventElapsedTime(ms, e0, e1);
            t[i] = ms[0] / 1e3 / 10;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }
}
