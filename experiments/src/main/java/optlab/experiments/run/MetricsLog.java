package optlab.experiments.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.nn.io.AtomicFiles;

/**
 * A run's {@code metrics.jsonl}: one JSON object a line, appended as the run goes (EXPERIMENTS.md: appending a line is
 * safe; the file is read back whole by the analysis). Every record has {@code kind} and {@code step} (the training steps
 * done when it was written):
 * <pre>
 *   {"kind":"train","step":50,"epoch":0.107,"lr":0.001,"loss":1.02,"steps":50,"examples_per_second":873.1,"wall_time":7.3}
 *       loss: the mean training objective over the last "steps" steps (the loss as optimized: times loss_multiplier,
 *       with label smoothing and l2_regularization); lr: alpha * eta_t of the last step
 *   {"kind":"eval","step":469,"epoch":1.0,"wall_time":70.1,"train_loss":0.31,"train_accuracy":0.89,"test_loss":0.33,...}
 *       &lt;split&gt;_loss in nats: plain cross-entropy (no multiplier, smoothing or regularization); _accuracy; a language
 *       model also _perplexity = exp(loss). Splits: train (the train_eval subset), valid (when held out), test
 *   {"kind":"histogram","step":1,"epoch":0.002,"min_exponent":-27,"max_exponent":20,"update":{"all":[...],"layers":{...}},...}
 *       power-of-two histograms of |update|, |grad| and |param| at a probe step (HistogramProbe, NOTE [histogram-probe])
 *   {"kind":"resume","step":400,"wall_time":55.2,"time":"2026-12-06T10:00:00Z"}
 * </pre>
 * wall_time is the training run's own time in seconds, summed over its attempts (a resumed run continues the count).
 *
 * <p>On resume, {@link #openForResume} first drops every record written after the checkpoint it resumes from (and a
 * partial last line of a killed write), so the file holds each step's records once.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FileChannel out;

    private MetricsLog(FileChannel out) {
        this.out = out;
    }

    /** A fresh, empty log at {@code file}. */
    public static MetricsLog create(Path file) throws IOException {
        return new MetricsLog(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING));
    }

    /**
     * Keeps the records of {@code file} with {@code step <= lastStep} (rewriting it atomically when anything goes) and
     * opens it for appending.
     */
    public static MetricsLog openForResume(Path file, long lastStep) throws IOException {
        List<String> kept = new ArrayList<>();
        boolean dropped = false;
        if (Files.exists(file)) {
            String text = Files.readString(file);
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                String line = lines[i];
                if (line.isEmpty()) continue;
                boolean last = i == lines.length - 1; // no newline after it: a killed write
                JsonNode n = last ? null : parse(line);
                if (n != null && n.path("step").asLong(Long.MAX_VALUE) <= lastStep) kept.add(line);
                else dropped = true;
            }
        }
        if (dropped) {
            StringBuilder sb = new StringBuilder();
            for (String l : kept) sb.append(l).append('\n');
            AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
        }
        return new MetricsLog(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            return null;
        }
    }

    /** Reads every whole record of {@code file} (a partial last line is skipped). */
    public static List<JsonNode> read(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.exists(file)) return out;
        String text = Files.readString(file);
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length - 1; i++) {
            if (lines[i].isEmpty()) continue;
            JsonNode n = parse(lines[i]);
            if (n == null) throw new IOException(file + ": line " + (i + 1) + " is not JSON");
            out.add(n);
        }
        return out;
    }

    /** Appends one record, {@code kind} and {@code step} first. */
    public void write(String kind, long step, Map<String, ?> fields) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("kind", kind);
        rec.put("step", step);
        rec.putAll(fields);
        try {
            byte[] b = (JSON.writeValueAsString(rec) + "\n").getBytes(StandardCharsets.UTF_8);
            ByteBuffer buf = ByteBuffer.wrap(b);
            while (buf.hasRemaining()) out.write(buf);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to metrics.jsonl", e);
        }
    }

    /** Forces what was written to disk (before a checkpoint names it as done). */
    public void sync() {
        try {
            out.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot sync metrics.jsonl", e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
