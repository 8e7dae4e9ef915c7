package optlab.nn.models;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Facts about the PyTorch reference models ({@code nn/src/test/resources/golden/reference_models.py}),
 * written by {@code golden/param_counts.py} (regenerate with {@code /tmp/venv/bin/python param_counts.py}
 * in that directory): exact parameter counts ({@code param_counts.txt}) and state_dict keys in order
 * ({@code state_names.txt}).
 */
final class Golden {
    private static final Map<String, Long> COUNTS = new LinkedHashMap<>();
    private static final Map<String, List<String>> NAMES = new LinkedHashMap<>();

    static {
        for (String line : lines("/golden/param_counts.txt")) {
            String[] f = line.split("\\s+");
            COUNTS.put(f[0], Long.parseLong(f[1]));
        }
        List<String> current = null;
        for (String line : lines("/golden/state_names.txt")) {
            if (line.startsWith("[")) NAMES.put(line.substring(1, line.length() - 1), current = new ArrayList<>());
            else current.add(line);
        }
    }

    private Golden() {}

    static long count(String name) {
        Long n = COUNTS.get(name);
        if (n == null) throw new IllegalArgumentException("no golden parameter count for '" + name + "' in golden/param_counts.txt");
        return n;
    }

    static List<String> stateNames(String model) {
        List<String> n = NAMES.get(model);
        if (n == null) throw new IllegalArgumentException("no golden state names for '" + model + "' in golden/state_names.txt");
        return n;
    }

    private static List<String> lines(String resource) {
        List<String> out = new ArrayList<>();
        try (InputStream in = Golden.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException(resource + " is not on the test classpath");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                line = line.strip();
                if (!line.isEmpty() && !line.startsWith("#")) out.add(line);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
