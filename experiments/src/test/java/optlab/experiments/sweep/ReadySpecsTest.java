package optlab.experiments.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import optlab.experiments.run.OptLabProcess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ready sweeps of the papers (experiments/sweeps/): each plans (every trial resolves, so no spec can rot), names
 * its source for every searched key, and states its size in its header.
 */
class ReadySpecsTest {
    static Stream<Path> specs() throws IOException {
        try (Stream<Path> s = Files.walk(OptLabProcess.ROOT.resolve("experiments/sweeps"))) {
            List<Path> all = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
            assertTrue(all.size() >= 17, "the ready specs are missing: " + all);
            return all.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("specs")
    void everyReadySpecPlansAndSaysWhereItsRangesCameFrom(Path file) throws IOException {
        SweepSpec spec = SweepSpec.read(file);
        List<TrialTable.Trial> rows = TrialTable.plan(spec, null);
        int expected = spec.settingsPerSearch().values().stream().mapToInt(Integer::intValue).sum() * spec.repeatsOrDefault();
        assertEquals(expected, rows.size());
        assertEquals(file.getFileName().toString().replace(".yaml", ""), spec.name().replaceFirst("^choi_", ""), "a spec is named as its file");
        for (SweepSpec.Search s : spec.searches()) {
            if (s.grid() != null) {
                for (String k : s.grid().keySet()) assertTrue(s.sources() != null && s.sources().containsKey(k), file + ": " + s.name() + "." + k + " has no source");
            } else {
                for (var e : s.quasirandom().space().entrySet()) {
                    assertTrue(e.getValue().source() != null && !e.getValue().source().isBlank(), file + ": " + s.name() + "." + e.getKey() + " has no source");
                }
            }
        }
        String header = Files.readString(file);
        assertTrue(header.startsWith("# "), file + " has no header");
        assertTrue(header.contains("trials"), file + ": the header says nothing of its size");
    }
}
