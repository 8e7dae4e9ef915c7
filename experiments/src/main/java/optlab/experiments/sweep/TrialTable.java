package optlab.experiments.sweep;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.experiments.run.RunConfig;
import optlab.experiments.run.RunSpec;

/**
 * A sweep's trial table, made once by {@code bin/optlab sweep plan} and never regenerated (EXPERIMENTS.md section 2:
 * AlgoPerf regenerates its list in every process, so separate jobs can disagree on what trial k is). Each row holds
 * everything about its trial: its id, where it came from (search, setting, repeat, the quasi-random point and its
 * Sobol index), the hyperparameters drawn, its seed, and its full resolved run config. Every later step (a local
 * worker, a Slurm array task, a resubmission, the analysis) reads the rows.
 *
 * <p>Row order: the searches in spec order, within a search the settings in order (a grid's product with its last key
 * varying fastest; a quasi-random search's points), each setting's repeats together. Extending a sweep (more
 * quasi-random trials, more repeats, more grid values at the end) keeps every existing row as it is, byte for byte, and
 * appends the new ones after all of them; a spec that would change an existing row is refused.
 */
public final class TrialTable {
    private TrialTable() {}

    /** One trial. {@code point} and {@code pointIndex} are null for a grid. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonPropertyOrder({"id", "index", "search", "setting", "repeat", "point_index", "point", "params", "seed", "config"})
    public record Trial(String id, int index, String search, int setting, int repeat, Integer pointIndex, List<Double> point,
                        Map<String, Object> params, long seed, Map<String, Object> config) {
        /** The trial's run config, resolved. */
        public RunConfig runConfig() {
            return RunConfig.fromMap(config);
        }
    }

    /** The table's file in a sweep directory. */
    public static Path file(Path dir) {
        return dir.resolve("trials.json");
    }

    /**
     * The rows the spec describes. {@code init}, when not null, is the shared initialization every trial loads. Every
     * trial's config is resolved ({@link RunSpec#resolve}): a bad value anywhere is refused here, naming the trial.
     */
    public static List<Trial> plan(SweepSpec spec, Path init) {
        List<Trial> out = new ArrayList<>();
        int repeats = spec.repeatsOrDefault();
        for (SweepSpec.Search s : spec.searches()) {
            List<Map<String, Object>> settings = new ArrayList<>();
            List<double[]> points = new ArrayList<>();
            if (s.grid() != null) {
                settings.addAll(product(s.grid()));
            } else {
                var space = s.quasirandom().space();
                double[][] pts = QuasiRandom.points(space.size(), s.quasirandom().trials());
                for (double[] u : pts) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    int d = 0;
                    for (var e : space.entrySet()) m.put(e.getKey(), typed(e.getKey(), e.getValue().map(u[d++])));
                    settings.add(m);
                    points.add(u);
                }
            }
            for (int k = 0; k < settings.size(); k++) {
                for (int r = 0; r < repeats; r++) {
                    String id = String.format("%s-%03d", s.name(), k) + (repeats > 1 ? "-r" + r : "");
                    long seed = spec.sharedTrialSeeds() ? baseSeed(spec) + r : trialSeed(spec.seedOrDefault(), s.name(), k, r);
                    Map<String, Object> layer = new LinkedHashMap<>(spec.base());
                    if (s.fixed() != null) layer.putAll(s.fixed());
                    if (s.optimizer() != null) layer.put("optimizer", s.optimizer());
                    layer.putAll(settings.get(k));
                    for (String key : List.of("seed", "init_seed", "data_seed", "dropout_seed")) layer.remove(key);
                    layer.put("seed", seed);
                    if (init != null) layer.put("init", init.toAbsolutePath().toString());
                    RunConfig resolved;
                    try {
                        resolved = RunSpec.resolve(RunConfig.fromMap(layer)).config();
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("trial " + id + " (" + settings.get(k) + "): " + e.getMessage(), e);
                    }
                    Integer pointIndex = points.isEmpty() ? null : QuasiRandom.FIRST_INDEX + k;
                    List<Double> point = points.isEmpty() ? null : boxed(points.get(k));
                    out.add(new Trial(id, out.size(), s.name(), k, r, pointIndex, point, settings.get(k), seed, resolved.toMap()));
                }
            }
        }
        return out;
    }

    /** The base config's seed (0 when it sets none). */
    private static long baseSeed(SweepSpec spec) {
        Object s = spec.base().get("seed");
        return s == null ? 0 : ((Number) s).longValue();
    }

    /**
     * A trial's own seed: a 31-bit mix (SplitMix64's finalizer) of the sweep's seed, its search's name, the setting and
     * the repeat. Not the row's position: extending one search must not change another's seeds.
     */
    static long trialSeed(long sweepSeed, String search, int setting, int repeat) {
        long z = sweepSeed * 0x9E3779B97F4A7C15L + search.hashCode() * 0xD6E8FEB86659FD93L + setting * 0xBF58476D1CE4E5B9L
                + repeat * 0x94D049BB133111EBL + 0x2545F4914F6CDD1DL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return z >>> 33;
    }

    /** The grid's settings: the product of the value lists, the last key varying fastest. */
    static List<Map<String, Object>> product(Map<String, List<Object>> grid) {
        List<Map<String, Object>> out = new ArrayList<>();
        out.add(new LinkedHashMap<>());
        for (var e : grid.entrySet()) {
            List<Map<String, Object>> next = new ArrayList<>();
            for (Map<String, Object> partial : out) {
                for (Object v : e.getValue()) {
                    Map<String, Object> m = new LinkedHashMap<>(partial);
                    m.put(e.getKey(), typed(e.getKey(), v));
                    next.add(m);
                }
            }
            out = next;
        }
        return out;
    }

    /** A drawn value in the key's type: a quasi-random draw for an integer key is rounded. */
    private static Object typed(String key, Object v) {
        for (RecordComponent c : RunConfig.components()) {
            if (!RunConfig.key(c).equals(key)) continue;
            if (v instanceof Number n && (c.getType() == Integer.class)) return (int) Math.round(n.doubleValue());
            if (v instanceof Number n && (c.getType() == Long.class)) return Math.round(n.doubleValue());
            return v;
        }
        return v;
    }

    private static List<Double> boxed(double[] a) {
        List<Double> out = new ArrayList<>();
        for (double d : a) out.add(d);
        return out;
    }

    /** A row as its JSON text reads back: numbers compare by value, whatever Java type made them. */
    private static JsonNode normalized(Trial t) {
        try {
            return SweepSpec.JSON.readTree(SweepSpec.JSON.writeValueAsString(t));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads the table of a sweep directory. */
    public static List<Trial> read(Path dir) {
        Path f = file(dir);
        if (!Files.exists(f)) throw new IllegalArgumentException(dir + " holds no sweep (no trials.json: make one with bin/optlab sweep plan SPEC --dir DIR)");
        try {
            JsonNode root = SweepSpec.JSON.readTree(Files.readString(f));
            List<Trial> out = new ArrayList<>();
            for (JsonNode n : root.path("trials")) out.add(SweepSpec.JSON.treeToValue(n, Trial.class));
            return out;
        } catch (IOException e) {
            throw new IllegalArgumentException(f + ": unreadable (" + e.getMessage() + ")");
        }
    }

    /**
     * Merges a freshly planned table into the rows already recorded: every recorded row must equal the planned row of
     * the same id (else the spec changed an existing trial: refused, naming it); rows of new ids are appended, renumbered
     * after the recorded ones. Returns the rows to record and how many are new.
     */
    public static List<Trial> extend(List<Trial> recorded, List<Trial> planned) {
        Map<String, Trial> byId = new LinkedHashMap<>();
        for (Trial t : planned) byId.put(t.id(), t);
        List<Trial> out = new ArrayList<>();
        for (Trial old : recorded) {
            Trial now = byId.remove(old.id());
            if (now == null) {
                throw new IllegalArgumentException("trial " + old.id() + " of the recorded table is not in the new spec: a sweep's table only grows "
                        + "(plan a changed spec into another directory)");
            }
            Trial renumbered = new Trial(now.id(), old.index(), now.search(), now.setting(), now.repeat(), now.pointIndex(), now.point(), now.params(),
                    now.seed(), now.config());
            if (!normalized(renumbered).equals(normalized(old))) {
                throw new IllegalArgumentException("the spec changes trial " + old.id() + " (recorded " + old.params() + " seed " + old.seed()
                        + ", now " + now.params() + " seed " + now.seed() + "): a sweep's rows never change; plan it into another directory");
            }
            out.add(old);
        }
        for (Trial t : byId.values()) {
            out.add(new Trial(t.id(), out.size(), t.search(), t.setting(), t.repeat(), t.pointIndex(), t.point(), t.params(), t.seed(), t.config()));
        }
        return out;
    }
}
