package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import optlab.experiments.data.Cifar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NOTE [exact-resume], tested the hard way: a training run in a child JVM is killed with SIGKILL at three moments
 * (mid-step, mid-checkpoint-write, mid-eval), rerun with the same command each time, and must end with final weights
 * bit-identical to an uninterrupted run's, the same metrics records, and no temporary file left. Two workloads: the
 * char LSTM (dropout, carried state) and a CIFAR ResNet (augmentation, batch norm, a validation split).
 */
class ResumeTest {
    @Test
    void theCharLstmKilledThriceEndsWithTheSameBits(@TempDir Path tmp) throws Exception {
        Path text = TinyData.text(tmp, 20_000, 11);
        check(tmp, "--workload", "tolstoi_char_rnn", "--corpus", text.toString(), "--seq-length", "10", "--batch-size", "4");
    }

    @Test
    void aCifarResNetKilledThriceEndsWithTheSameBits(@TempDir Path tmp) throws Exception {
        Path dir = TinyData.cifar(tmp, Cifar.Variant.CIFAR10, 60, 10, 5);
        check(tmp, "--workload", "cifar10_resnet20", "--data-dir", dir.toString(), "--batch-size", "8", "--valid-fraction", "0.2",
                "--eval-batch-size", "16", "--train-eval-size", "16");
    }

    private static void check(Path tmp, String... workload) throws Exception {
        List<String> common = new ArrayList<>(List.of("train", "--steps", "20", "--checkpoint-every", "4", "--eval-every-steps", "5",
                "--log-every-steps", "2"));
        common.addAll(List.of(workload));

        Path whole = tmp.resolve("uninterrupted");
        OptLabProcess.Result r = OptLabProcess.run(tmp.resolve("logs-whole"), List.of(), 300, args(common, whole));
        assertEquals(0, r.code(), r.err());

        Path killed = tmp.resolve("killed");
        killAt(tmp, "mid-step@7", common, killed);
        killAt(tmp, "checkpoint-write@12", common, killed);
        assertTrue(tmpFiles(killed).size() == 1, "the write killed midway left its temporary file: " + tmpFiles(killed));
        killAt(tmp, "mid-eval@15", common, killed);
        assertTrue(tmpFiles(killed).isEmpty(), "the rerun removed the leftover: " + tmpFiles(killed));
        r = OptLabProcess.run(tmp.resolve("logs-last"), List.of(), 300, args(common, killed));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("resuming " + killed + " at step 12 of 20"), r.out());

        assertArrayEquals(Files.readAllBytes(whole.resolve("final.safetensors")), Files.readAllBytes(killed.resolve("final.safetensors")),
                "final weights differ from the uninterrupted run's");
        assertEquals(comparable(whole), comparable(killed));
        assertTrue(tmpFiles(killed).isEmpty(), tmpFiles(killed).toString());
        assertEquals("finished", RunDirectory.JSON.readTree(killed.resolve("result.json").toFile()).get("status").asText());
    }

    private static String[] args(List<String> common, Path dir) {
        List<String> a = new ArrayList<>(common);
        a.addAll(List.of("--run-dir", dir.toString()));
        return a.toArray(String[]::new);
    }

    /** Starts the run paused at {@code point} (see Hooks), waits for the pause, and kills the JVM with SIGKILL. */
    private static void killAt(Path tmp, String point, List<String> common, Path dir) throws Exception {
        Path marker = tmp.resolve("paused-" + point.replace('@', '-'));
        Process p = OptLabProcess.builder(tmp.resolve("logs-" + point.replace('@', '-')),
                List.of("-Doptlab.test.pause=" + point, "-Doptlab.test.pauseMarker=" + marker), args(common, dir)).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (!Files.exists(marker)) {
            assertTrue(p.isAlive(), "the run ended before reaching " + point + ": "
                    + Files.readString(tmp.resolve("logs-" + point.replace('@', '-')).resolve("stderr.txt")));
            assertTrue(System.nanoTime() < deadline, "no pause at " + point);
            Thread.sleep(50);
        }
        p.destroyForcibly(); // SIGKILL: no shutdown hook, no finally block runs
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertFalse(Files.exists(dir.resolve("result.json")), "a killed run has no result");
    }

    private static List<String> tmpFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList();
        }
    }

    /** The metrics records without what depends on the clock, and without the resume records. */
    private static List<String> comparable(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode n : MetricsLog.read(dir.resolve("metrics.jsonl"))) {
            if (n.get("kind").asText().equals("resume")) continue;
            ObjectNode o = ((ObjectNode) n).deepCopy();
            o.remove("wall_time");
            o.remove("examples_per_second");
            out.add(o.toString());
        }
        return out;
    }
}
