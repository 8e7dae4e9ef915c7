package optlab.experiments.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import optlab.nn.io.AtomicFiles;

/**
 * A run's directory (EXPERIMENTS.md section 1), everything written as the run goes so that a killed run loses at most
 * the work since its last checkpoint:
 * <pre>
 *   config.json              the resolved config, what was derived from the data, and where and how it ran (atomic)
 *   metrics.jsonl            one JSON object a line, appended: "train" records every log interval, "eval" records at
 *                            every evaluation, "resume" records where a resumed run continued (MetricsLog)
 *   checkpoint.safetensors   the whole training state, every checkpoint_every steps and at the end (atomic)
 *   final.safetensors        the final weights (atomic)
 *   result.json              status (finished, diverged or failed), step, reason, final and best metrics (atomic)
 *   run.lock                 held by the process training in this directory
 * </pre>
 * Atomic files go through a temporary file and a rename ({@link AtomicFiles}); {@link #open} removes the temporary
 * files a killed write left behind.
 */
public final class RunDirectory implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final List<String> removedLeftovers;

    private RunDirectory(Path dir, FileChannel lockChannel, FileLock lock, List<String> removedLeftovers) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.removedLeftovers = removedLeftovers;
    }

    /**
     * Opens (creating it if needed) the run directory {@code dir}: checks that it can be written before anything runs,
     * takes its lock (a second process training into the same directory is refused), and removes leftovers of a killed
     * atomic write.
     */
    public static RunDirectory open(Path dir) {
        try {
            if (Files.exists(dir) && !Files.isDirectory(dir)) throw new IllegalArgumentException("run directory " + dir + " is a file");
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException("run directory " + dir + " cannot be created: " + e.getMessage());
        }
        Path probe = dir.resolve(".write-probe");
        try {
            Files.writeString(probe, "probe");
            Files.delete(probe);
        } catch (IOException e) {
            throw new IllegalArgumentException("run directory " + dir + " is not writable: " + e);
        }
        FileChannel ch;
        FileLock lock;
        try {
            ch = FileChannel.open(dir.resolve("run.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                ch.close();
                throw new IllegalArgumentException("run directory " + dir + " is in use: another process is training there ("
                        + readQuietly(dir.resolve("run.lock")) + ")");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new IllegalArgumentException("run directory " + dir + ": cannot take its lock: " + e);
        }
        List<String> removed = new ArrayList<>();
        try {
            removed.addAll(AtomicFiles.removeLeftovers(dir));
        } catch (IOException e) {
            throw new UncheckedIOException("run directory " + dir + ": cannot remove leftovers of a killed write", e);
        }
        return new RunDirectory(dir, ch, lock, removed);
    }

    /** Whether a process holds the lock of {@code dir} (a run is training there now). */
    public static boolean isLocked(Path dir) {
        Path f = dir.resolve("run.lock");
        if (!Files.exists(f)) return false;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) return true;
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true; // this JVM holds it
        } catch (IOException e) {
            return false;
        }
    }

    private static String readQuietly(Path f) {
        try {
            return Files.readString(f).strip();
        } catch (IOException e) {
            return "unknown process";
        }
    }

    public Path path() {
        return dir;
    }

    /** The temporary files of killed atomic writes that {@link #open} removed. */
    public List<String> removedLeftovers() {
        return removedLeftovers;
    }

    public Path configFile() {
        return dir.resolve("config.json");
    }

    public Path metricsFile() {
        return dir.resolve("metrics.jsonl");
    }

    public Path checkpointFile() {
        return dir.resolve("checkpoint.safetensors");
    }

    public Path finalWeightsFile() {
        return dir.resolve("final.safetensors");
    }

    public Path resultFile() {
        return dir.resolve("result.json");
    }

    /** The recorded config.json, or null when there is none yet. */
    public JsonNode readConfig() {
        return readJson(configFile());
    }

    /** The recorded result.json, or null when the run has not ended. */
    public JsonNode readResult() {
        return readJson(resultFile());
    }

    private static JsonNode readJson(Path f) {
        try {
            return JSON.readTree(Files.readString(f));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new IllegalArgumentException(f + ": unreadable (" + e.getMessage() + ")");
        }
    }

    /** Writes {@code value} as pretty JSON to {@code file}, atomically. */
    public static void writeJson(Path file, Object value) {
        try {
            AtomicFiles.write(file, JSON.writeValueAsBytes(value));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** Removes a checkpoint and a result of an earlier attempt (a run started afresh). */
    void removeEarlierAttempt() throws IOException {
        for (Path f : new Path[] {checkpointFile(), resultFile(), finalWeightsFile(), metricsFile()}) Files.deleteIfExists(f);
    }

    @Override
    public void close() {
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
