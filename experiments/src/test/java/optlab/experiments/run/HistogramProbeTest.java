package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.experiments.CliRun;
import optlab.experiments.OptLab;
import optlab.experiments.data.Cifar;
import optlab.kernels.Device;
import optlab.kernels.cuda.Cuda;
import optlab.kernels.testkit.GpuTest;
import optlab.nn.ParameterArena;
import optlab.nn.models.CifarResNet;
import optlab.optim.Optimizer;
import optlab.optim.Presets;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NOTE [histogram-probe]: the probe's counts (computed on the device by Backend.log2Histogram) against a host
 * computation of the same bins from the host's copy of the same values: the gradients and weights before the step, and
 * the update the optimizer reports; on the CPU, and (GPU-tagged) on a CUDA device, where the emulator stage runs it.
 * And a run's metrics hold the records at the steps asked for.
 */
class HistogramProbeTest {
    /** floor(log2 |v|), clamped to the probe's range; the last slot for non-finite values: written here, from the bits. */
    static long[] hostBins(float[] v, int from, int n) {
        long[] c = new long[HistogramProbe.SLOTS];
        for (int i = from; i < from + n; i++) {
            float x = v[i];
            int slot;
            if (!Float.isFinite(x)) slot = HistogramProbe.SLOTS - 1;
            else {
                int e = x == 0 ? Integer.MIN_VALUE : Math.getExponent(x); // subnormals (-127) fall to the bottom too
                slot = Math.max(HistogramProbe.MIN_EXPONENT, Math.min(HistogramProbe.MAX_EXPONENT, e)) - HistogramProbe.MIN_EXPONENT;
            }
            c[slot]++;
        }
        return c;
    }

    private static void check(Device device) {
        CifarResNet model = new CifarResNet(8, false, 10, new Generator(3));
        model.to(device);
        try (ParameterArena arena = ParameterArena.pack(model);
             Optimizer opt = Presets.builder("zhuang.adamw").lr(1e-3).weightDecay(1e-2).build().create(arena)) {
            HistogramProbe probe = new HistogramProbe(arena, opt);
            for (int step = 1; step <= 3; step++) {
                try (Scope s = Scope.open()) {
                    Tensor x = Tensor.randn(new Generator(step), 4, 3, 16, 16).to(device);
                    Tensor y = Tensor.ofInts(new int[] {1, 4, 7, 9}, 4).to(device);
                    Variable loss = Functional.crossEntropy(model.forward(new Variable(x)), y);
                    opt.zeroGrad();
                    loss.backward();
                    float[] g = arena.grads().toFloatArray(), w = arena.values().toFloatArray();
                    probe.beforeStep();
                    float[] before = arena.values().toFloatArray();
                    assertTrue(opt.step());
                    Map<String, Object> rec = probe.afterStep(true);
                    try (Tensor u = Tensor.empty(arena.values().shape(), arena.values().dtype(), arena.values().device());
                         Tensor xOld = Tensor.of(before, before.length).to(device)) {
                        assertTrue(opt.computeUpdate(xOld, u));
                        float[] uh = u.toFloatArray();
                        for (var q : Map.of("grad", g, "param", w, "update", uh).entrySet()) {
                            @SuppressWarnings("unchecked") Map<String, Object> counts = (Map<String, Object>) rec.get(q.getKey());
                            @SuppressWarnings("unchecked") Map<String, long[]> layers = (Map<String, long[]>) counts.get("layers");
                            long[] all = new long[HistogramProbe.SLOTS];
                            for (ParameterArena.Entry e : arena.entries()) {
                                long[] host = hostBins(q.getValue(), e.offset(), e.numel());
                                assertArrayEquals(host, layers.get(e.name()), q.getKey() + " of " + e.name() + " at step " + step);
                                for (int i = 0; i < all.length; i++) all[i] += host[i];
                            }
                            assertArrayEquals(all, (long[]) counts.get("all"), q.getKey() + " of the whole model at step " + step);
                            assertEquals(arena.size(), java.util.Arrays.stream(all).sum());
                        }
                    }
                }
            }
        }
    }

    @Test
    void theProbesCountsAreTheHostsOnTheCpu() {
        check(Device.CPU);
    }

    @Test
    @GpuTest
    void theProbesCountsAreTheHostsOnACudaDevice() {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
        check(Device.cuda(0));
    }

    @Test
    void aRunRecordsHistogramsAtTheStepsAskedFor(@TempDir Path tmp) throws Exception {
        Path data = TinyData.cifar(tmp, Cifar.Variant.CIFAR10, 24, 8, 2), dir = tmp.resolve("run");
        CliRun r = CliRun.of(new OptLab(), "train", "--workload", "cifar10_resnet20_nobn", "--data-dir", data.toString(), "--steps", "5",
                "--batch-size", "8", "--eval-batch-size", "8", "--train-eval-size", "8", "--histogram-every-steps", "2", "--run-dir", dir.toString());
        assertEquals(0, r.code(), r.err());
        List<JsonNode> hist = MetricsLog.read(dir.resolve("metrics.jsonl")).stream().filter(n -> n.get("kind").asText().equals("histogram")).toList();
        assertEquals(List.of(1L, 3L, 5L), hist.stream().map(n -> n.get("step").asLong()).toList());
        JsonNode h = hist.get(0);
        assertEquals(HistogramProbe.MIN_EXPONENT, h.get("min_exponent").asInt());
        assertEquals(HistogramProbe.SLOTS, h.at("/update/all").size());
        long total = 0;
        for (JsonNode c : h.at("/update/all")) total += c.asLong();
        assertEquals(new CifarResNet(20, false, 10, new Generator(0)).parameterCount(), total, "every coordinate counted once");
        assertTrue(h.at("/grad/layers").has("conv1.weight") && h.at("/param/layers").has("linear.bias"), h.toString().substring(0, 200));
    }
}
