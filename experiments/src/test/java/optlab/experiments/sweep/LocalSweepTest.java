package optlab.experiments.sweep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import optlab.experiments.run.OptLabProcess;
import optlab.experiments.run.TinyData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sweep issue's local "done when": a 4-trial sweep on tiny data runs with 2 workers; the sweep process is killed
 * with SIGKILL while trials are training, rerun, and ends with every trial finished exactly once (a trial that had
 * finished is not run again: its result.json is untouched) and every trial's final weights identical to those of an
 * uninterrupted sweep; no trial process outlives the killed sweep (NOTE [jvm-per-trial]).
 */
class LocalSweepTest {
    static String spec(Path text) {
        return """
                name: local4
                base: {workload: tolstoi_char_rnn, corpus: "%s", seq_length: 10, batch_size: 4, steps: 60, checkpoint_every: 10,
                       eval_every_steps: 30, log_every_steps: 10, train_eval_size: 80}
                seed: 3
                searches:
                  - name: sgd
                    optimizer: choi.sgd
                    quasirandom: {trials: 2, space: {lr: {min: 0.1, max: 1.0, scaling: log}}}
                  - name: adam
                    optimizer: choi.adam
                    quasirandom: {trials: 2, space: {lr: {min: 1.0e-3, max: 1.0e-2, scaling: log}, one_minus_beta1: {min: 0.05, max: 0.2, scaling: log}}}
                """.formatted(text);
    }

    @Test
    void aKilledSweepRerunFinishesEveryTrialOnceWithTheSameBits(@TempDir Path tmp) throws Exception {
        Path text = TinyData.text(tmp, 20_000, 5);
        Path specFile = Files.writeString(tmp.resolve("spec.yaml"), spec(text));
        Path whole = tmp.resolve("whole"), killed = tmp.resolve("killed");
        for (Path d : List.of(whole, killed)) {
            OptLabProcess.Result r = OptLabProcess.run(tmp.resolve("logs-plan"), List.of(), 120, "sweep", "plan", specFile.toString(), "--dir", d.toString());
            assertEquals(0, r.code(), r.err());
        }
        OptLabProcess.Result r = OptLabProcess.run(tmp.resolve("logs-whole"), List.of(), 600, "sweep", "run", whole.toString(), "--workers", "2");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("4 trials: 4 finished"), r.out());

        // the same sweep, killed as soon as its first trial has finished (the other worker is then mid-trial)
        Process p = OptLabProcess.builder(tmp.resolve("logs-killed"), List.of(), "sweep", "run", killed.toString(), "--workers", "2").start();
        SweepDirectory sd = new SweepDirectory(killed);
        List<String> ids = List.of("sgd-000", "sgd-001", "adam-000", "adam-001");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (ids.stream().noneMatch(id -> sd.status(id) == SweepDirectory.Status.FINISHED)) {
            assertTrue(p.isAlive() && System.nanoTime() < deadline, "the sweep ended or stalled before a trial finished");
            Thread.sleep(20);
        }
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        Thread.sleep(1500); // the workers' watchdogs poll every 200 ms
        assertTrue(ProcessHandle.allProcesses().noneMatch(h -> h.info().commandLine().orElse("").contains(killed.toString())),
                "a trial process outlived the killed sweep");
        Map<String, byte[]> finishedBefore = new HashMap<>();
        for (String id : ids) {
            if (sd.status(id) == SweepDirectory.Status.FINISHED) finishedBefore.put(id, Files.readAllBytes(sd.trialDir(id).resolve("result.json")));
        }
        assertTrue(finishedBefore.size() < 4, "the kill came too late: every trial had finished");
        assertFalse(finishedBefore.isEmpty());

        r = OptLabProcess.run(tmp.resolve("logs-rerun"), List.of(), 600, "sweep", "run", killed.toString(), "--workers", "2");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("running " + (4 - finishedBefore.size()) + " of them"), r.out());
        assertTrue(r.out().contains("4 trials: 4 finished"), r.out());
        for (var e : finishedBefore.entrySet()) {
            assertArrayEquals(e.getValue(), Files.readAllBytes(sd.trialDir(e.getKey()).resolve("result.json")), e.getKey() + " ran again");
        }
        SweepDirectory sw = new SweepDirectory(whole);
        for (String id : ids) {
            assertArrayEquals(Files.readAllBytes(sw.trialDir(id).resolve("final.safetensors")), Files.readAllBytes(sd.trialDir(id).resolve("final.safetensors")),
                    id + ": final weights differ from the uninterrupted sweep's");
        }
        r = OptLabProcess.run(tmp.resolve("logs-status"), List.of(), 120, "sweep", "status", killed.toString());
        assertTrue(r.out().contains("4 trials: 4 finished"), r.out());
    }
}
