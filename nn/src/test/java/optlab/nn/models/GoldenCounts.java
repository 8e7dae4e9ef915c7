package optlab.nn.models;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The exact parameter counts in {@code golden/param_counts.txt}, written by
 * {@code nn/src/test/resources/golden/param_counts.py} from the PyTorch reference models of
 * {@code reference_models.py} (run {@code /tmp/venv/bin/python param_counts.py} there to regenerate).
 */
final class GoldenCounts {
    private static final Map<String, Long> COUNTS = load();

    private GoldenCounts() {}

    static long of(String name) {
        Long n = COUNTS.get(name);
        if (n == null) throw new IllegalArgumentException("no golden parameter count for '" + name + "' in golden/param_counts.txt");
        return n;
    }

    private static Map<String, Long> load() {
        Map<String, Long> m = new LinkedHashMap<>();
        try (InputStream in = GoldenCounts.class.getResourceAsStream("/golden/param_counts.txt")) {
            if (in == null) throw new IllegalStateException("golden/param_counts.txt is not on the test classpath");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                line = line.strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                String[] f = line.split("\\s+");
                m.put(f[0], Long.parseLong(f[1]));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return m;
    }
}
