package optlab.experiments.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import optlab.experiments.CliRun;
import optlab.experiments.OptLab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SweepSpecTest {
    private static final String GRID = """
            name: zhuang_small
            base: {workload: fmnist_2c2d, steps: 5, valid_fraction: 0.1}
            trial_seeds: shared
            searches:
              - name: adamw
                optimizer: zhuang.adamw
                grid: {lr: [1.0e-4, 1.0e-3], weight_decay: [0, 1.0e-4, 1.0e-3]}
                sources: {lr: "Zhuang et al.'s grid", weight_decay: "Zhuang et al.'s grid"}
              - name: adam_l2
                optimizer: zhuang.adam_l2
                grid: {lr: [1.0e-4], weight_decay: [0, 1.0e-4]}
            """;

    private static Path write(Path dir, String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private static String refusal(Path tmp, String yaml) throws IOException {
        Path f = write(tmp, "bad.yaml", yaml);
        return assertThrows(IllegalArgumentException.class, () -> TrialTable.plan(SweepSpec.read(f), null)).getMessage();
    }

    @Test
    void aGridIsTheProductWithTheLastKeyFastestAndSharedSeeds(@TempDir Path tmp) throws IOException {
        List<TrialTable.Trial> rows = TrialTable.plan(SweepSpec.read(write(tmp, "g.yaml", GRID)), null);
        assertEquals(List.of("adamw-000", "adamw-001", "adamw-002", "adamw-003", "adamw-004", "adamw-005", "adam_l2-000", "adam_l2-001"),
                rows.stream().map(TrialTable.Trial::id).toList());
        assertEquals(Map.of("lr", 1e-4, "weight_decay", 1e-3), rows.get(2).params());
        assertEquals(Map.of("lr", 1e-3, "weight_decay", 0), rows.get(3).params());
        assertTrue(rows.stream().allMatch(t -> t.seed() == 0), "trial_seeds shared: every trial the base seed");
        var c = rows.get(4).config();
        assertEquals("zhuang.adamw", c.get("optimizer"));
        assertEquals(1e-4, ((Number) c.get("weight_decay")).doubleValue());
        assertEquals(5, ((Number) c.get("steps")).intValue());
        assertEquals(0.1, ((Number) c.get("valid_fraction")).doubleValue());
    }

    @Test
    void perTrialSeedsDifferAndRepeatsGetOtherSeeds(@TempDir Path tmp) throws IOException {
        String spec = GRID.replace("trial_seeds: shared\n", "seed: 7\nrepeats: 2\n");
        List<TrialTable.Trial> rows = TrialTable.plan(SweepSpec.read(write(tmp, "r.yaml", spec)), null);
        assertEquals(16, rows.size());
        assertEquals("adamw-000-r0", rows.get(0).id());
        assertEquals("adamw-000-r1", rows.get(1).id());
        assertEquals(rows.get(0).params(), rows.get(1).params());
        assertEquals(16, rows.stream().map(TrialTable.Trial::seed).collect(Collectors.toSet()).size(), "every trial its own seed");
        assertEquals(rows, TrialTable.plan(SweepSpec.read(write(tmp, "r2.yaml", spec)), null), "planning is deterministic");
        assertNotEquals(rows.get(0).seed(), TrialTable.plan(SweepSpec.read(write(tmp, "r3.yaml", spec.replace("seed: 7", "seed: 8"))), null)
                .get(0).seed());
    }

    @Test
    void badSpecsAreRefusedNamingTheFieldAndTheValue(@TempDir Path tmp) throws IOException {
        String q = """
                name: q
                base: {workload: fmnist_2c2d, steps: 5}
                searches:
                  - name: adam
                    optimizer: choi.adam
                    quasirandom:
                      trials: 4
                      space:
                        %s
                """;
        assertTrue(refusal(tmp, q.formatted("learning_rate: {min: 1.0e-4, max: 1.0e-1, scaling: log}"))
                .contains("search adam space: unknown parameter 'learning_rate'"));
        assertTrue(refusal(tmp, q.formatted("lr: {min: 1.0e-1, max: 1.0e-4, scaling: log}"))
                .contains("space.lr: inverted range [0.1, 1.0E-4]"));
        assertTrue(refusal(tmp, q.formatted("lr: {min: 0.1, max: 0.1, scaling: linear}")).contains("space.lr: empty range [0.1, 0.1]"));
        assertTrue(refusal(tmp, q.formatted("lr: {min: 0.0, max: 0.1, scaling: log}"))
                .contains("space.lr: a log range must lie above zero, got [0.0, 0.1]"));
        assertTrue(refusal(tmp, q.formatted("lr: {min: -1.0, max: 0.1, scaling: log}")).contains("a log range must lie above zero"));
        assertTrue(refusal(tmp, q.formatted("lr: {min: 1.0e-4, max: 1.0e-1, scaling: cubic}")).contains("space.lr: scaling must be log or linear"));
        assertTrue(refusal(tmp, q.formatted("lr: {feasible_points: []}")).contains("space.lr: feasible_points is empty"));
        assertTrue(refusal(tmp, q.formatted("lr: {min: 1.0e-4, max: 1.0e-1, scaling: log, step: 2}")).contains("unknown field"));
        assertTrue(refusal(tmp, q.formatted("beta1: {min: 0.5, max: 0.9, scaling: linear}").replace("choi.adam", "choi.sgd"))
                .contains("beta1 does not apply to sgd"));
        assertTrue(refusal(tmp, GRID.replace("fmnist_2c2d", "mnist_mlp")).contains("no workload 'mnist_mlp'"));
        assertTrue(refusal(tmp, GRID.replace("weight_decay: [0, 1.0e-4]}", "weight_decay: []}")).contains("grid.weight_decay has no values"));
        assertTrue(refusal(tmp, GRID.replace("trial_seeds: shared", "trial_seeds: random")).contains("trial_seeds must be one of"));
    }

    @Test
    void extendingASweepKeepsItsRowsAndChangingOneIsRefused(@TempDir Path tmp) throws IOException {
        String q = """
                name: q
                base: {workload: fmnist_2c2d, steps: 5}
                searches:
                  - name: sgd
                    optimizer: choi.sgd
                    quasirandom: {trials: %d, space: {lr: {min: 1.0e-3, max: 1.0, scaling: log}}}
                  - name: momentum
                    optimizer: choi.momentum
                    quasirandom: {trials: 3, space: {lr: {min: 1.0e-3, max: 1.0, scaling: log}, one_minus_momentum: {min: 1.0e-3, max: 1.0, scaling: log}}}
                """;
        Path dir = tmp.resolve("sweep");
        CliRun r = CliRun.of(new OptLab(), "sweep", "plan", write(tmp, "a.yaml", q.formatted(4)).toString(), "--dir", dir.toString());
        assertEquals(0, r.code(), r.err());
        List<TrialTable.Trial> first = TrialTable.read(dir);
        assertEquals(7, first.size());
        String before = Files.readString(TrialTable.file(dir));
        r = CliRun.of(new OptLab(), "sweep", "plan", write(tmp, "b.yaml", q.formatted(6)).toString(), "--dir", dir.toString());
        assertEquals(0, r.code(), r.err());
        List<TrialTable.Trial> grown = TrialTable.read(dir);
        assertEquals(9, grown.size());
        assertEquals(first, grown.subList(0, 7), "the first rows stay as they were");
        assertEquals(List.of("sgd-004", "sgd-005"), grown.subList(7, 9).stream().map(TrialTable.Trial::id).toList());
        assertEquals(List.of(7, 8), grown.subList(7, 9).stream().map(TrialTable.Trial::index).toList());
        // the new rows are the points the larger search would have had from the start
        assertEquals(TrialTable.plan(SweepSpec.read(tmp.resolve("b.yaml")), null).get(4).params(), grown.get(7).params());

        r = CliRun.of(new OptLab(), "sweep", "plan", write(tmp, "c.yaml", q.formatted(6).replace("max: 1.0, scaling: log}}}\n  - name: momentum",
                "max: 2.0, scaling: log}}}\n  - name: momentum")).toString(), "--dir", dir.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("the spec changes trial sgd-000"), r.err());
        assertTrue(Files.readString(TrialTable.file(dir)).contains("sgd-005"), "the refused plan left the table as it was");
        assertNotEquals(before, Files.readString(TrialTable.file(dir)));
    }

    @Test
    void aSweepDirectoryWithoutATableIsNamed(@TempDir Path tmp) {
        CliRun r = CliRun.of(new OptLab(), "sweep", "status", tmp.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains(tmp + " holds no sweep (no trials.json"), r.err());
    }
}
