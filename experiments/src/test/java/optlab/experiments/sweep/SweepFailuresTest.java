package optlab.experiments.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import optlab.experiments.run.OptLabProcess;
import optlab.experiments.run.TinyData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failing trial is recorded with its error and the sweep goes on; a rerun leaves it alone unless --retry-failed; and
 * {@code submit --dry-run} shows the job array without Slurm.
 */
class SweepFailuresTest {
    @Test
    void aFailingTrialIsRecordedTheSweepGoesOnAndOnlyARetryRerunsIt(@TempDir Path tmp) throws Exception {
        Path text = TinyData.text(tmp, 20_000, 5), missing = tmp.resolve("later.txt");
        Path spec = Files.writeString(tmp.resolve("spec.yaml"), """
                name: failing
                base: {workload: tolstoi_char_rnn, seq_length: 10, batch_size: 4, steps: 10, train_eval_size: 40}
                searches:
                  - name: sgd
                    optimizer: choi.sgd
                    grid: {corpus: ["%s", "%s"]}
                    sources: {corpus: "a test: the second file does not exist yet"}
                """.formatted(text, missing));
        Path dir = tmp.resolve("sweep");
        assertEquals(0, OptLabProcess.run(tmp.resolve("l0"), List.of(), 120, "sweep", "plan", spec.toString(), "--dir", dir.toString()).code());

        OptLabProcess.Result r = OptLabProcess.run(tmp.resolve("l1"), List.of(), 300, "sweep", "run", dir.toString(), "--workers", "2");
        assertEquals(1, r.code(), "a sweep with a failed trial exits 1: " + r.out());
        assertTrue(r.out().contains("2 trials: 1 finished, 1 failed"), r.out());
        SweepDirectory sd = new SweepDirectory(dir);
        assertEquals(SweepDirectory.Status.FAILED, sd.status("sgd-001"));
        assertTrue(sd.result("sgd-001").get("reason").asText().contains(missing + ": file not found"), sd.result("sgd-001").toString());

        r = OptLabProcess.run(tmp.resolve("l2"), List.of(), 300, "sweep", "run", dir.toString());
        assertTrue(r.out().contains("running 0 of them"), "a failed trial reruns only when asked: " + r.out());

        Files.copy(text, missing);
        r = OptLabProcess.run(tmp.resolve("l3"), List.of(), 300, "sweep", "run", dir.toString(), "--retry-failed");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("2 trials: 2 finished"), r.out());
    }

    @Test
    void aDryRunShowsTheArrayAndSubmitsNothing(@TempDir Path tmp) throws Exception {
        Path text = TinyData.text(tmp, 20_000, 5);
        Path spec = Files.writeString(tmp.resolve("spec.yaml"), LocalSweepTest.spec(text));
        Path dir = tmp.resolve("sweep");
        assertEquals(0, OptLabProcess.run(tmp.resolve("l0"), List.of(), 120, "sweep", "plan", spec.toString(), "--dir", dir.toString()).code());
        OptLabProcess.Result r = OptLabProcess.run(tmp.resolve("l1"), List.of(), 120, "sweep", "submit", dir.toString(), "--slurm", "--dry-run",
                "--max-parallel", "3", "--trials-per-task", "3", "--cpus-per-task", "2", "--partition", "gpu", "--gres", "gpu:1", "--time", "2:00:00");
        assertEquals(0, r.code(), r.err());
        for (String line : List.of("submission 1: 4 trial(s) in 2 array task(s) of up to 3, at most 3 at once", "#SBATCH --array=0-1%3",
                "#SBATCH --cpus-per-task=2", "#SBATCH --partition=gpu", "#SBATCH --gres=gpu:1", "#SBATCH --time=2:00:00",
                "sweep run-task " + dir.toAbsolutePath() + " --submission 1 --index \"$SLURM_ARRAY_TASK_ID\"", "task 0: sgd-000 sgd-001 adam-000",
                "task 1: adam-001")) {
            assertTrue(r.out().contains(line), line + " missing from:\n" + r.out());
        }
        assertFalse(Files.exists(dir.resolve("slurm")), "a dry run writes nothing");
        r = OptLabProcess.run(tmp.resolve("l2"), List.of(), 120, "sweep", "submit", dir.toString(), "--slurm", "--time", "soon");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--time: bad value 'soon'"), r.err());
    }
}
