package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import optlab.experiments.data.Cifar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NOTE [terminal-progress]: on a real terminal the progress bar moves while the run trains. bin/optlab runs under
 * {@code script}, which gives it a pseudo-terminal; what the terminal receives is read as it arrives, and the bar's
 * in-place redraws must arrive spread over the run, not all at once at its end (as they did when the launcher's line
 * filter held them back). The JVM's incubator warning must not reach the terminal.
 */
class ProgressTerminalTest {
    @Test
    void theBarRedrawsWhileTheRunTrains(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "util-linux script is not installed");
        Path data = TinyData.cifar(tmp, Cifar.Variant.CIFAR10, 1600, 8, 3); // one epoch: the 200 steps
        String cmd = OptLabProcess.ROOT.resolve("bin/optlab") + " train --workload cifar10_resnet20 --steps 200 --batch-size 8"
                + " --eval-batch-size 8 --train-eval-size 8 --data-dir " + data + " --run-dir " + tmp.resolve("run");
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/script", "-qfec", cmd, "/dev/null").redirectErrorStream(true);
        OptLabProcess.environment(pb.environment(), List.of());
        Process p = pb.start();
        p.getOutputStream().close();

        // every chunk the terminal receives, with the time it arrived
        Map<Long, String> chunks = new LinkedHashMap<>();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) {
                chunks.merge(System.nanoTime(), new String(buf, 0, n, StandardCharsets.UTF_8), String::concat);
                all.write(buf, 0, n);
            }
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String transcript = all.toString(StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), transcript);
        assertFalse(transcript.contains("WARNING: Using incubator modules"), transcript);

        // the bar's frames: "... 37/200 steps (0:00:01 / 0:00:03) ..." redrawn after a carriage return
        Pattern frame = Pattern.compile("\r[^\r\n]*?(\\d+)/200 steps \\(");
        List<long[]> frames = new ArrayList<>(); // (arrival time, steps shown)
        for (var e : chunks.entrySet()) {
            Matcher m = frame.matcher(e.getValue());
            while (m.find()) {
                long steps = Long.parseLong(m.group(1));
                if (steps > 0 && steps < 200) frames.add(new long[] {e.getKey(), steps});
            }
        }
        assertTrue(frames.stream().map(f -> f[1]).distinct().count() >= 3, "fewer than 3 distinct frames of the bar: " + transcript);
        long spread = frames.get(frames.size() - 1)[0] - frames.get(0)[0];
        assertTrue(spread >= TimeUnit.MILLISECONDS.toNanos(500),
                "the bar's frames arrived within " + spread / 1e6 + " ms: held back, not drawn while training");
    }
}
