package optlab.experiments.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NOTE [thread-independent-bits] (CpuConv): the float32 CPU kernels, and whole training steps built from them, give
 * the same bits at 1, 2 and 3 threads. The thread count of the CPU pool is fixed per JVM, so each count runs
 * {@link ThreadBitsProbe} in its own child JVM, which prints one hash per kernel result.
 */
class ThreadCountBitsTest {
    @TempDir
    Path tmp;

    @Test
    void everyKernelAndTrainingStepGivesTheSameBitsAtOneTwoAndThreeThreads() throws Exception {
        Map<String, String> one = probe(1);
        // every kernel family of the probe reported, and the two training runs
        assertTrue(one.size() >= 60, "the probe printed only " + one.size() + " results: " + one.keySet());
        assertTrue(one.containsKey("train resnet8_bn") && one.containsKey("train charlstm"), one.keySet().toString());
        assertTrue(one.keySet().stream().anyMatch(k -> k.startsWith("conv2d backward_filter")), one.keySet().toString());
        for (int threads : new int[] {2, 3}) {
            Map<String, String> other = probe(threads);
            assertEquals(one.keySet(), other.keySet(), "the same results at " + threads + " threads");
            List<String> differ = new ArrayList<>();
            for (String k : one.keySet()) {
                if (!one.get(k).equals(other.get(k))) differ.add(k);
            }
            assertTrue(differ.isEmpty(), "at " + threads + " threads, other bits than at 1 thread for: " + differ);
        }
    }

    /** Runs the probe at {@code threads}; its results, name to hash. */
    private Map<String, String> probe(int threads) throws IOException, InterruptedException {
        Path out = tmp.resolve("threads" + threads + ".txt"), err = tmp.resolve("threads" + threads + ".err");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC", "-Xmx1g", "-Doptlab.threads=" + threads,
                "-cp", System.getProperty("java.class.path"), ThreadBitsProbe.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the probe at " + threads + " threads ran past 300 s");
        }
        assertEquals(0, p.exitValue(), "the probe at " + threads + " threads failed: " + Files.readString(err, StandardCharsets.UTF_8));
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals("threads " + threads, lines.get(0), "the child's pool runs the thread count asked for");
        Map<String, String> results = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            int sp = line.lastIndexOf(' ');
            results.put(line.substring(0, sp), line.substring(sp + 1));
        }
        return results;
    }
}
