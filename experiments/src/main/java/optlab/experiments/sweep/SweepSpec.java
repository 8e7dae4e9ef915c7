package optlab.experiments.sweep;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import optlab.experiments.run.RunConfig;

/**
 * A sweep: a base run config, and one or more searches, each an optimizer with its own search space (EXPERIMENTS.md
 * section 2). JSON or YAML:
 * <pre>
 *   name: zhuang_resnet20_nobn
 *   base: {workload: cifar10_resnet20_nobn, valid_fraction: 0.1}     # a run config: every key of bin/optlab train
 *   seed: 0                       # the sweep's seed: trial seeds
 *   trial_seeds: shared           # per_trial (default: each trial its own seed) or shared (every trial the base seed)
 *   repeats: 1                    # each setting run this many times, with other seeds
 *   shared_init: true             # one initialization, made by plan, loaded by every trial (Zhuang et al.)
 *   searches:
 *     - name: adamw
 *       optimizer: zhuang.adamw
 *       fixed: {schedule: constant}                     # more keys, the same for every trial of this search
 *       grid: {lr: [5e-5, 1e-4], weight_decay: [0, 1e-5]}      # the product; the last key varies fastest
 *       sources: {lr: "Zhuang et al., section 5"}       # where each range came from
 *     - name: adam
 *       optimizer: choi.adam
 *       quasirandom:
 *         trials: 16
 *         space:
 *           lr: {min: 1e-5, max: 1e-1, scaling: log, source: "..."}
 *           one_minus_beta1: {min: 1e-3, max: 1, scaling: log}
 *           decay_steps_factor: {feasible_points: [0.5, 0.75, 1.0]}
 * </pre>
 * Every key of {@code base}, {@code fixed}, {@code grid} and {@code space} is a {@link RunConfig} key; the search's
 * {@code optimizer} is the {@code optimizer} key. {@link #check} refuses a bad spec before anything runs, naming the
 * field and the value: an unknown key, an empty or inverted range, a log range reaching zero or below, a workload that
 * does not exist (through the resolution of every trial in {@link TrialTable#plan}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record SweepSpec(String name, String description, Map<String, Object> base, Long seed, String trialSeeds, Integer repeats,
                        Boolean sharedInit, List<Search> searches) {

    /** One optimizer's part of a sweep: a grid or a quasi-random search over its own space. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Search(String name, String optimizer, Map<String, Object> fixed, LinkedHashMap<String, List<Object>> grid,
                         QuasiRandom quasirandom, Map<String, String> sources) {}

    /** Quasi-random search: {@code trials} points of a Sobol sequence mapped onto {@code space}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record QuasiRandom(Integer trials, LinkedHashMap<String, Range> space) {}

    /**
     * One dimension of a quasi-random space (AlgoPerf's encoding): {@code min}/{@code max} with {@code scaling} log or
     * linear, or {@code feasible_points} (a list to pick from); {@code source} says where it came from.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Range(Double min, Double max, String scaling, List<Object> feasiblePoints, String source) {
        /** The value at u in [0, 1): min + u (max - min) on the linear or the log scale, or feasible point floor(u n). */
        public Object map(double u) {
            if (!(u >= 0 && u < 1)) throw new IllegalArgumentException("a quasi-random coordinate must be in [0, 1), got " + u);
            if (feasiblePoints != null) return feasiblePoints.get((int) Math.floor(u * feasiblePoints.size()));
            if ("log".equals(scaling)) return Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min)));
            return min + u * (max - min);
        }
    }

    /** The values trial_seeds takes. */
    public static final List<String> TRIAL_SEEDS = List.of("per_trial", "shared");

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** Reads a spec file (.json, .yaml or .yml) and checks it. */
    public static SweepSpec read(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean yaml = n.endsWith(".yaml") || n.endsWith(".yml");
        if (!yaml && !n.endsWith(".json")) throw new IllegalArgumentException("sweep spec " + file + ": expected a .json, .yaml or .yml file");
        try {
            JsonNode tree = (yaml ? YAML : JSON).readTree(Files.readString(file));
            if (tree == null || !tree.isObject()) throw new IllegalArgumentException("sweep spec " + file + ": expected a map of keys to values");
            return fromTree(tree, "sweep spec " + file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("sweep spec " + file + ": file not found");
        } catch (IOException e) {
            throw new IllegalArgumentException("sweep spec " + file + ": " + firstLine(e.getMessage()));
        }
    }

    /** A spec from its JSON tree (as {@link #toJson} writes it), checked. */
    public static SweepSpec fromTree(JsonNode tree, String what) {
        SweepSpec s;
        try {
            s = JSON.treeToValue(tree, SweepSpec.class);
        } catch (UnrecognizedPropertyException e) {
            throw new IllegalArgumentException(what + ": unknown field '" + path(e) + "' (known: " + e.getKnownPropertyIds() + ")");
        } catch (JsonMappingException e) {
            throw new IllegalArgumentException(what + ": bad value at '" + path(e) + "': " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": " + firstLine(e.getMessage()));
        }
        s.check(what);
        return s;
    }

    private static String path(JsonMappingException e) {
        StringBuilder b = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) b.append(b.isEmpty() ? "" : ".").append(r.getFieldName());
            else b.append('[').append(r.getIndex()).append(']');
        }
        return b.toString();
    }

    private static String firstLine(String s) {
        if (s == null) return "unreadable";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Every check that needs no trial to be made; names the field and the value. */
    void check(String what) {
        String p = what + ": ";
        if (name == null || !name.matches("[a-z0-9][a-z0-9_.-]*")) throw new IllegalArgumentException(p + "name must be lower-case letters, digits, _ . -, got " + name);
        if (base == null || !base.containsKey("workload")) throw new IllegalArgumentException(p + "base must name a workload (base.workload)");
        keys(p + "base", base.keySet(), true);
        if (trialSeeds != null && !TRIAL_SEEDS.contains(trialSeeds)) {
            throw new IllegalArgumentException(p + "trial_seeds must be one of " + TRIAL_SEEDS + ", got '" + trialSeeds + "'");
        }
        if (repeats != null && repeats < 1) throw new IllegalArgumentException(p + "repeats must be >= 1, got " + repeats);
        if (searches == null || searches.isEmpty()) throw new IllegalArgumentException(p + "searches is empty: give at least one");
        Set<String> names = new HashSet<>();
        for (int i = 0; i < searches.size(); i++) {
            Search s = searches.get(i);
            String at = p + "searches[" + i + "]";
            if (s.name() == null || !s.name().matches("[a-z0-9][a-z0-9_]*")) {
                throw new IllegalArgumentException(at + ".name must be lower-case letters, digits and _, got " + s.name());
            }
            if (!names.add(s.name())) throw new IllegalArgumentException(at + ".name '" + s.name() + "' is used twice");
            at = p + "search " + s.name();
            if (s.fixed() != null) keys(at + " fixed", s.fixed().keySet(), false);
            if ((s.grid() == null) == (s.quasirandom() == null)) throw new IllegalArgumentException(at + ": give grid or quasirandom (one of them)");
            if (s.grid() != null) {
                if (s.grid().isEmpty()) throw new IllegalArgumentException(at + ": grid is empty");
                keys(at + " grid", s.grid().keySet(), false);
                for (var e : s.grid().entrySet()) {
                    if (e.getValue() == null || e.getValue().isEmpty()) throw new IllegalArgumentException(at + ": grid." + e.getKey() + " has no values");
                }
            } else {
                QuasiRandom q = s.quasirandom();
                if (q.trials() == null || q.trials() < 1) throw new IllegalArgumentException(at + ": quasirandom.trials must be >= 1, got " + q.trials());
                if (q.space() == null || q.space().isEmpty()) throw new IllegalArgumentException(at + ": quasirandom.space is empty");
                if (q.space().size() > 1000) throw new IllegalArgumentException(at + ": more than 1,000 dimensions (Sobol's limit)");
                keys(at + " space", q.space().keySet(), false);
                for (var e : q.space().entrySet()) range(at + ": space." + e.getKey(), e.getValue());
            }
            if (s.sources() != null) {
                for (String k : s.sources().keySet()) {
                    boolean searched = (s.grid() != null && s.grid().containsKey(k)) || (s.quasirandom() != null && s.quasirandom().space().containsKey(k))
                            || (s.fixed() != null && s.fixed().containsKey(k)) || k.equals("optimizer");
                    if (!searched) throw new IllegalArgumentException(at + ": sources." + k + " names no key of this search");
                }
            }
            Set<String> overlap = new HashSet<>();
            if (s.fixed() != null) overlap.addAll(s.fixed().keySet());
            for (String k : s.grid() != null ? s.grid().keySet() : s.quasirandom().space().keySet()) {
                if (!overlap.add(k)) throw new IllegalArgumentException(at + ": " + k + " is both fixed and searched");
            }
        }
    }

    private static void keys(String where, Set<String> keys, boolean workloadAllowed) {
        List<String> known = RunConfig.keys();
        for (String k : keys) {
            if (!known.contains(k)) throw new IllegalArgumentException(where + ": unknown parameter '" + k + "' (bin/optlab train --help lists them)");
            if (!workloadAllowed && k.equals("workload")) throw new IllegalArgumentException(where + ": a sweep has one workload, in base");
        }
    }

    private static void range(String at, Range r) {
        if (r == null) throw new IllegalArgumentException(at + " is empty");
        if (r.feasiblePoints() != null) {
            if (r.min() != null || r.max() != null || r.scaling() != null) {
                throw new IllegalArgumentException(at + ": give feasible_points or min/max/scaling, not both");
            }
            if (r.feasiblePoints().isEmpty()) throw new IllegalArgumentException(at + ": feasible_points is empty");
            return;
        }
        if (r.min() == null || r.max() == null) throw new IllegalArgumentException(at + ": needs min and max (or feasible_points)");
        if (!"log".equals(r.scaling()) && !"linear".equals(r.scaling())) {
            throw new IllegalArgumentException(at + ": scaling must be log or linear, got " + r.scaling());
        }
        if (!Double.isFinite(r.min()) || !Double.isFinite(r.max())) throw new IllegalArgumentException(at + ": min and max must be finite");
        if (r.min() >= r.max()) {
            throw new IllegalArgumentException(at + ": " + (r.min().equals(r.max()) ? "empty" : "inverted") + " range [" + r.min() + ", " + r.max()
                    + "] (min must be below max)");
        }
        if ("log".equals(r.scaling()) && r.min() <= 0) {
            throw new IllegalArgumentException(at + ": a log range must lie above zero, got [" + r.min() + ", " + r.max() + "]");
        }
    }

    /** The number of settings (before repeats) of each search, in order. */
    public Map<String, Integer> settingsPerSearch() {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (Search s : searches) {
            int n = 1;
            if (s.grid() != null) for (List<Object> v : s.grid().values()) n = Math.multiplyExact(n, v.size());
            else n = s.quasirandom().trials();
            out.put(s.name(), n);
        }
        return out;
    }

    public long seedOrDefault() {
        return seed == null ? 0 : seed;
    }

    public int repeatsOrDefault() {
        return repeats == null ? 1 : repeats;
    }

    public boolean sharedInitOrDefault() {
        return Boolean.TRUE.equals(sharedInit);
    }

    public boolean sharedTrialSeeds() {
        return "shared".equals(trialSeeds);
    }

    /** The spec as JSON (what plan records in the sweep directory). */
    public JsonNode toTree() {
        return JSON.valueToTree(this);
    }

    /** Names of the searches, in order. */
    public List<String> searchNames() {
        List<String> out = new ArrayList<>();
        for (Search s : searches) out.add(s.name());
        return out;
    }
}
