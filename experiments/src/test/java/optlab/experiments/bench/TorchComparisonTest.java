package optlab.experiments.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import optlab.experiments.CliRun;
import org.junit.jupiter.api.Test;

/**
 * bin/bench --vs-pytorch's OptLab side: its options, the PyTorch look-up's failure, the measurement line and the
 * table. No timing is asserted and PyTorch is never needed (the figures come from bin/bench, docs/BENCHMARKS.md).
 */
class TorchComparisonTest {
    private static CliRun bench(Map<String, String> env, String... args) {
        CpuBenchmark b = new CpuBenchmark();
        b.env = env;
        return CliRun.of(b, args);
    }

    @Test
    void withoutATorchPythonItSaysHowToGetOneAndExits2() {
        CliRun r = bench(Map.of("OPTLAB_TORCH_PYTHON", "/nonexistent/optlab-test/python3"), "--vs-pytorch", "--workloads", "resnet20");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("error: OPTLAB_TORCH_PYTHON=/nonexistent/optlab-test/python3: no such file"), r.err());
        assertTrue(r.err().contains("needs a python3 that can `import torch`"), r.err());
        assertTrue(r.err().contains("pip install --no-index --no-deps /opt/wheels/torch-"), r.err());
        assertEquals("", r.out()); // nothing measured
    }

    @Test
    void badOptionsAreRefusedBeforeAnythingRuns() {
        Map<String, String> none = Map.of("OPTLAB_TORCH_PYTHON", "/nonexistent/optlab-test/python3");
        CliRun r = bench(none, "--vs-pytorch", "--workloads", "resnet20,lenet");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown workload 'lenet'; known: fmnist_2c2d, resnet20, resnet56, resnet20_nobn, densenet_bc40, charlstm, "
                + "charlstm_32x64"), r.err());
        assertTrue(bench(none, "--vs-pytorch", "--rounds", "0").err().contains("--rounds must be at least 1, got 0"));
        assertTrue(bench(none, "--vs-pytorch", "--steps", "0").err().contains("--steps must be at least 1, got 0"));
        assertTrue(bench(none, "--vs-pytorch", "--threads", "-1").err().contains("--threads must be positive"));
        assertTrue(bench(none, "--vs-pytorch", "--only", "gemm").err().contains("--only does not go with --vs-pytorch"));
    }

    @Test
    void workloadsMatchTheIssuesShapes() {
        List<TorchComparison.Workload> w = TorchComparison.select(List.of("FMNIST_2c2d", "resnet20", " charlstm", "charlstm_32x64", "resnet20"));
        assertEquals(List.of("fmnist_2c2d", "resnet20", "charlstm", "charlstm_32x64"), w.stream().map(TorchComparison.Workload::name).toList());
        assertEquals(256, w.get(0).items());
        assertEquals("images/s", w.get(0).unit());
        assertEquals("choi.adam", w.get(0).optimizer());
        assertEquals(128, w.get(1).items());
        assertEquals("choi.momentum", w.get(1).optimizer());
        assertEquals(2500, w.get(2).items());
        assertEquals("tokens/s", w.get(2).unit());
        assertEquals(32 * 64, w.get(3).items());
        assertThrows(IllegalArgumentException.class, () -> TorchComparison.select(List.of()));
    }

    @Test
    void aRoundLineReadsBackAndTheTableShowsMediansSpreadsAndTheRatio() {
        TorchComparison.Round o = new TorchComparison.Round("optlab", "resnet20", 1, 128, "images/s", 3, 500, 510, 490, 2.3);
        assertEquals("engine=optlab workload=resnet20 round=1 items=128 unit=images/s steps=3 median_ms=500.000 mean_ms=510.000 min_ms=490.000 "
                + "throughput=256.00 loss=2.3000", o.line());
        assertEquals(o, TorchComparison.Round.parse(o.line()));
        assertThrows(IllegalStateException.class, () -> TorchComparison.Round.parse("error something"));
        List<TorchComparison.Round> rounds = List.of(o,
                new TorchComparison.Round("pytorch", "resnet20", 1, 128, "images/s", 3, 200, 200, 200, 2.3),
                new TorchComparison.Round("optlab", "resnet20", 2, 128, "images/s", 3, 400, 400, 400, 2.2),
                new TorchComparison.Round("pytorch", "resnet20", 2, 128, "images/s", 3, 160, 160, 160, 2.2),
                new TorchComparison.Round("optlab", "resnet20", 3, 128, "images/s", 3, 640, 640, 640, 2.1),
                new TorchComparison.Round("pytorch", "resnet20", 3, 128, "images/s", 3, 320, 320, 320, 2.1));
        String table = TorchComparison.table(TorchComparison.select(List.of("resnet20", "charlstm")), rounds);
        String[] lines = table.split("\n");
        assertEquals(2, lines.length, table); // the header and resnet20's row; charlstm has no rounds
        assertTrue(lines[0].matches("workload +unit +rounds OptLab median \\[min-max] +PyTorch median \\[min-max] +OptLab/PyTorch"), lines[0]);
        // OptLab 256, 320, 200 images/s; PyTorch 640, 800, 400: medians 256 and 640, ratio 0.40
        assertTrue(lines[1].matches("ResNet-20 with BN, batch 128, momentum +images/s +3 256\\.0 \\[200\\.0-320\\.0] +640\\.0 \\[400\\.0-800\\.0] +0\\.40"),
                lines[1]);
        assertEquals(2.5, TorchComparison.median(new double[] {4, 1, 2, 3}));
    }

    /**
     * The OptLab side of a workload, in a JVM of its own as --vs-pytorch starts it: a ready line, a warmed line for the
     * JIT warm-up, one round line per run line (whose figures it measured: the step took time, the loss is finite), an
     * error line for a bad request, and an exit on quit. One JIT warm-up step, then one warm-up and one timed step of
     * fmnist_2c2d on one thread.
     */
    @Test
    void anOptLabServerJvmAnswersRoundsAndRefusesBadRequests() throws Exception {
        TorchComparison.Workload w = TorchComparison.select(List.of("fmnist_2c2d")).get(0);
        Process p = new ProcessBuilder(TorchComparison.optLabCommand(w, 1)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
             var cmd = new java.io.PrintWriter(p.getOutputStream(), true, java.nio.charset.StandardCharsets.UTF_8)) {
            String ready = in.readLine();
            assertTrue(ready != null && ready.startsWith("ready backend cpu (1 threads), java "), ready);
            cmd.println("warm fmnist_2c2d 1");
            assertEquals("warmed fmnist_2c2d 1", in.readLine());
            cmd.println("run fmnist_2c2d 1 1 1");
            TorchComparison.Round r = TorchComparison.Round.parse(in.readLine());
            assertEquals("optlab", r.engine());
            assertEquals(1, r.steps());
            assertTrue(r.medianMs() > 0 && Double.isFinite(r.loss()), r.line());
            cmd.println("run resnet20 1 1 2");
            String error = in.readLine();
            assertTrue(error.startsWith("error") && error.contains("expected 'run fmnist_2c2d WARMUP STEPS ROUND'"), error);
            cmd.println("quit");
            assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the server exits on quit");
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }
}
