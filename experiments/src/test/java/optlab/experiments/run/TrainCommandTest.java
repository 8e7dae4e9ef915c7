package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import optlab.experiments.Cli;
import optlab.experiments.CliRun;
import optlab.experiments.OptLab;
import optlab.experiments.TrainCommand;
import optlab.experiments.data.Cifar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/optlab's commands, and what a new user hit (the run issue's point 8), each fixed and held here. */
class TrainCommandTest {
    /** stdout and the exit code of an in-process run. */
    private record Out(int code, String out, String err) {}

    private static Out run(String... args) {
        CliRun r = CliRun.of(new OptLab(), args);
        return new Out(r.code(), r.out(), r.err());
    }

    private static List<String> tiny(Path tmp, String... more) throws IOException {
        Path data = TinyData.cifar(tmp, Cifar.Variant.CIFAR10, 32, 8, 9);
        List<String> a = new ArrayList<>(List.of("train", "--workload", "cifar10_resnet20", "--data-dir", data.toString(), "--batch-size", "8",
                "--eval-batch-size", "8", "--train-eval-size", "8"));
        a.addAll(List.of(more));
        return a;
    }

    @Test
    void versionPrintsTheVersionAndTheCommitUnderEveryName() {
        for (String[] args : new String[][] {{"--version"}, {"-V"}, {"train", "-V"}, {"workloads", "--version"}}) {
            Out o = run(args);
            assertEquals(0, o.code(), o.err());
            assertTrue(o.out().startsWith("OptLab "), String.join(" ", args) + " printed: '" + o.out() + "'");
            assertTrue(o.out().contains("git commit "), o.out());
        }
    }

    @Test
    void workloadsListsTheRegistryAndExplainsAnEntry() {
        Out o = run("workloads");
        assertEquals(0, o.code());
        for (Workload w : Workloads.all()) assertTrue(o.out().contains(w.name()), w.name());
        o = run("workloads", "cifar10_resnet110_nobn");
        assertTrue(o.out().contains("[Z-code] README: --batchsize 128"), o.out());
        assertEquals(2, run("workloads", "mnist").code());
    }

    @Test
    void theRunDirectoryIsCheckedBeforeTraining(@TempDir Path tmp) throws IOException {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Out o = run(tiny(tmp, "--steps", "2", "--run-dir", file.resolve("run").toString()).toArray(String[]::new));
        assertEquals(2, o.code());
        assertTrue(o.err().startsWith("error: run directory " + file.resolve("run") + " cannot be created"), o.err());
        assertFalse(o.out().contains("step "), "nothing trained: " + o.out());
    }

    @Test
    void aHugeLearningRateEndsTheRunAsDivergedWithItsStep(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("run");
        Out o = run(tiny(tmp, "--steps", "30", "--lr", "1e3", "--optimizer", "choi.sgd", "--run-dir", dir.toString()).toArray(String[]::new));
        assertEquals(TrainCommand.DIVERGED, o.code(), o.out() + o.err());
        JsonNode r = RunDirectory.JSON.readTree(dir.resolve("result.json").toFile());
        assertEquals("diverged", r.get("status").asText());
        long step = r.get("step").asLong();
        assertTrue(step < 30, r.toString());
        assertTrue(r.get("reason").asText().contains("at step " + (step + 1)), r.toString());
        assertFalse(Files.exists(dir.resolve("final.safetensors")), "a diverged run has no final weights");
    }

    @Test
    void theSameCommandContinuesAndAnotherConfigIsRefused(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("run");
        List<String> a = tiny(tmp, "--steps", "4", "--run-dir", dir.toString());
        assertEquals(0, run(a.toArray(String[]::new)).code());
        Out again = run(a.toArray(String[]::new));
        assertEquals(0, again.code());
        assertTrue(again.out().contains("this run already ended (finished at step 4); nothing to do"), again.out());
        List<String> other = new ArrayList<>(a);
        other.addAll(List.of("--lr", "0.5"));
        Out refused = run(other.toArray(String[]::new));
        assertEquals(2, refused.code());
        assertTrue(refused.err().contains("holds a run of another config (lr: 0.001 -> 0.5)"), refused.err());
        Out resumed = run("train", "--run-dir", dir.toString(), "--resume");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("nothing to do"), resumed.out());
    }

    @Test
    void aConfigFileIsReadAndFlagsOverrideIt(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("run");
        Path cfg = Files.writeString(tmp.resolve("c.yaml"), "steps: 2\nlr: 0.25\noptimizer: choi.momentum\none_minus_momentum: 0.5\n");
        List<String> a = tiny(tmp, "--config", cfg.toString(), "--lr", "0.125", "--run-dir", dir.toString());
        Out o = run(a.toArray(String[]::new));
        assertEquals(0, o.code(), o.err());
        JsonNode c = RunDirectory.JSON.readTree(dir.resolve("config.json").toFile());
        assertEquals(0.125, c.at("/config/lr").asDouble());
        assertEquals(0.5, c.at("/config/momentum").asDouble());
        assertEquals("choi.momentum", c.at("/derived/optimizer/config/preset").asText());
        assertEquals(0.5, c.at("/derived/optimizer/config/momentum").asDouble());
        assertTrue(o.out().contains("config: {"), o.out());
    }

    @Test
    void badInputIsOneLineAndExitTwo() {
        Out o = run("train", "--workload", "fmnist_2c2d", "--batch-size", "0");
        assertEquals(2, o.code());
        assertEquals("error: batch_size must be positive, got 0", o.err().strip());
        o = run("train", "--workload", "fmnist_2c2d", "--lr", "fast");
        assertEquals(2, o.code());
        assertTrue(o.err().contains("'fast' is not a double"), o.err());
        o = run("train", "--workload", "cifar10_resnet20", "--data-dir", "/nonexistent", "--run-dir", "/tmp/optlab-never-" + System.nanoTime());
        assertEquals(2, o.code());
        assertTrue(o.err().startsWith("error: /nonexistent/data_batch_1.bin: file not found"), o.err());
    }

    @Test
    void theHelpListsEveryConfigKeyAsAFlag() {
        Out o = run("train", "--help");
        assertEquals(0, o.code());
        for (String k : RunConfig.keys()) assertTrue(o.out().contains("--" + k.replace('_', '-')), k);
    }

    /** Cli is what bin/optlab's main runs; make sure the class the launcher names exists and runs. */
    @Test
    void theLaunchersMainIsOptLab() {
        assertEquals(0, Cli.run(new OptLab(), "--help"));
    }
}
