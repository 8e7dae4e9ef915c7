package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import optlab.experiments.CliRun;
import optlab.experiments.OptLab;
import optlab.experiments.data.FashionMnist;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The run issue's first "done when": {@code bin/optlab train --workload W --steps 20} runs for every registered
 * workload on tiny data (CIFAR files and a text written by the test; the synthetic ImageNet at 32x32; Fashion-MNIST's
 * real files, which CI installs), each writing the whole run directory.
 *
 * <p>Except two, for CI's time: {@code fmnist_resnet56} and {@code fmnist_resnet56_nobn}, whose final evaluation on the
 * real 10,000 Fashion-MNIST test images (the reader takes only the official files) cost 2 x 170 s here. Each is the code
 * path of a workload run here, named in {@link #COVERED_BY}: the same model class and data with 3 blocks a stage instead
 * of 9; {@code bin/reproduce zhuang-fmnist} trains both (docs/REPRODUCTIONS.md), and
 * {@link #everyWorkloadIsRunHereOrNamedAsCovered} keeps the list honest.
 */
class WorkloadRunsTest {
    @TempDir
    static Path data;

    /** Workloads left out here, each with the workload run here that has its model class and its data. */
    static final Map<String, String> COVERED_BY = Map.of("fmnist_resnet56", "fmnist_resnet20", "fmnist_resnet56_nobn", "fmnist_resnet20_nobn");

    static Stream<String> workloads() {
        return Workloads.all().stream().map(Workload::name).filter(n -> !COVERED_BY.containsKey(n));
    }

    @Test
    void everyWorkloadIsRunHereOrNamedAsCovered() {
        for (var e : COVERED_BY.entrySet()) {
            Workload left = Workloads.get(e.getKey()), runs = Workloads.get(e.getValue());
            assertEquals(runs.data(), left.data(), e.toString());
            assertEquals(runs.summary().replace("ResNet-20", "ResNet-56"), left.summary(), "the same model but its depth: " + e);
            assertTrue(workloads().anyMatch(runs.name()::equals), e.toString());
        }
    }

    @ParameterizedTest
    @MethodSource("workloads")
    void twentyStepsOfEveryWorkloadWriteARunDirectory(String name, @TempDir Path tmp) throws IOException {
        Workload w = Workloads.get(name);
        if (w.data() == Workload.Data.FASHION_MNIST) {
            assumeTrue(Files.exists(Path.of(FashionMnist.DEFAULT_DIR, "train-images-idx3-ubyte.gz")), "Fashion-MNIST is not installed");
        }
        Path dir = tmp.resolve("run");
        List<String> args = new ArrayList<>(List.of("train", "--workload", name, "--steps", "20", "--run-dir", dir.toString(),
                "--batch-size", "4", "--log-every-steps", "5", "--checkpoint-every", "10",
                "--train-eval-size", w.isLanguageModel() ? "80" : "16"));
        if (!w.isLanguageModel()) args.addAll(List.of("--eval-batch-size", "500"));
        args.addAll(TinyData.flagsFor(w, data));
        CliRun r = CliRun.of(new OptLab(), args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());

        assertEquals(List.of("checkpoint.safetensors", "config.json", "final.safetensors", "metrics.jsonl", "result.json", "run.lock"),
                fileNames(dir));
        ObjectMapper json = new ObjectMapper();
        JsonNode result = json.readTree(dir.resolve("result.json").toFile());
        assertEquals("finished", result.get("status").asText(), result.toString());
        assertEquals(20, result.get("step").asLong());
        JsonNode config = json.readTree(dir.resolve("config.json").toFile());
        assertEquals(name, config.at("/config/workload").asText());
        assertEquals(20, config.at("/config/steps").asLong());
        assertTrue(config.at("/derived/steps_per_epoch").asInt() > 0);
        assertTrue(config.at("/derived/optimizer/config/formula").asText().contains("x <-"), config.at("/derived/optimizer").toString());
        assertTrue(config.at("/meta/git_commit").isTextual());
        assertTrue(config.at("/meta/command_line").isArray());

        List<JsonNode> records = MetricsLog.read(dir.resolve("metrics.jsonl"));
        List<Long> trainSteps = records.stream().filter(n -> n.get("kind").asText().equals("train")).map(n -> n.get("step").asLong()).toList();
        assertEquals(List.of(5L, 10L, 15L, 20L), trainSteps);
        JsonNode last = records.get(records.size() - 1);
        assertEquals("eval", last.get("kind").asText());
        assertEquals(20, last.get("step").asLong());
        assertTrue(last.get("test_loss").isNumber() && Double.isFinite(last.get("test_loss").asDouble()), last.toString());
        assertTrue(last.has("train_loss"), last.toString());
        if (w.isLanguageModel()) assertTrue(last.has("test_perplexity"), last.toString());
        else assertTrue(last.has("test_accuracy"), last.toString());
    }

    static List<String> fileNames(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
