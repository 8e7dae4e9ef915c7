package optlab.experiments.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import optlab.experiments.Cli;
import optlab.experiments.CliRun;
import optlab.experiments.Results;
import optlab.kernels.cuda.Cuda;
import optlab.kernels.testkit.GpuTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ModelStepBenchmark at a toy size (the figures themselves come from bin/gpu-run and docs/BENCHMARKS.md). */
class ModelStepBenchmarkTest {
    @TempDir
    Path dir;

    private JsonNode runTiny(String device) throws IOException {
        Path tsv = dir.resolve("steps.tsv"), json = dir.resolve("steps.json");
        assertEquals(0, Cli.run(new ModelStepBenchmark(), "--device", device, "--models", "resnet8,resnet20,charlstm", "--batch-size", "2",
                "--image-size", "8", "--lstm-batch", "3", "--lstm-length", "4",
                // one timed step on a device: every step costs seconds on the emulator of the driver, where CI runs it
                "--warmup", device.equals("cpu") ? "1" : "0", "--steps", device.equals("cpu") ? "2" : "1", "--out", tsv.toString(),
                "--results", json.toString()));
        List<String> lines = Files.readAllLines(tsv);
        assertEquals("benchmark\tvalue\tunit\tceiling\tceiling_value\tfraction\tnote", lines.get(0));
        assertEquals(4, lines.size());
        String[] row = lines.get(2).split("\t");
        assertEquals("resnet20 train step batch 2 8x8 (" + device + ")", row[0]);
        assertTrue(Double.parseDouble(row[1]) > 0, row[1]);
        assertEquals("images/s", row[2]);
        row = lines.get(3).split("\t");
        assertEquals("charlstm train step batch 3x4 tokens (" + device + ")", row[0]);
        assertTrue(Double.parseDouble(row[1]) > 0, row[1]);
        assertEquals("tokens/s", row[2]);
        JsonNode r = Results.json().readTree(json.toFile());
        List<String> keys = new ArrayList<>();
        r.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("benchmark", "device", "backend", "kernels", "kernel_calls", "optimizer", "batchSize", "imageSize", "lstmBatch", "lstmLength", "warmupSteps", "timedSteps",
                "seed", "figures", "java"), keys);
        assertEquals(device, r.get("device").asText());
        assertEquals("choi.momentum", r.get("optimizer").get("preset").asText());
        assertEquals(3, r.get("figures").size());
        JsonNode f = r.get("figures").get(1);
        assertEquals("resnet20", f.get("model").asText());
        assertEquals(269_722, f.get("parameters").asLong()); // nn golden param_counts.txt
        assertEquals("images/s", f.get("unit").asText());
        assertTrue(f.get("lastLoss").asDouble() < f.get("firstLoss").asDouble() + 1, f.toString()); // finite, and not blowing up
        JsonNode lstm = r.get("figures").get(2);
        assertEquals("charlstm", lstm.get("model").asText());
        assertEquals(284_499, lstm.get("parameters").asLong()); // DeepOBS layout, vocabulary 83: nn golden param_counts.txt
        assertEquals("tokens/s", lstm.get("unit").asText());
        assertTrue(lstm.get("lastLoss").asDouble() < lstm.get("firstLoss").asDouble() + 1, lstm.toString());
        return r;
    }

    @Test
    void measuresSmallResnetsOnTheCpuAndRecordsTheSettings() throws IOException {
        JsonNode r = runTiny("cpu");
        assertEquals("cpu_implicit_gemm", r.get("kernels").get("conv2d").asText());
        assertTrue(r.get("kernel_calls").get("conv2d=cpu_implicit_gemm").asLong() > 0, r.get("kernel_calls").toString());
    }

    @Test
    @GpuTest
    void measuresSmallResnetsOnTheGpu() throws IOException {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
        JsonNode r = runTiny("cuda:0");
        assertEquals("own_im2col", r.get("kernels").get("conv2d").asText());
    }

    @Test
    void badArgumentsAreOneClearLine() {
        CliRun r = CliRun.of(new ModelStepBenchmark(), "--models", "resnet21");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--models: 'resnet21' is neither a CIFAR ResNet"), r.err());
        r = CliRun.of(new ModelStepBenchmark(), "--device", "tpu");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("not a device: 'tpu'"), r.err());
    }
}
