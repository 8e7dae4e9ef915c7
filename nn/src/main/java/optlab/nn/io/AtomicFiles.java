package optlab.nn.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that a crash never leaves it half-written: the bytes go to a temporary file in the
 * same directory, which is flushed to disk and then renamed over the target in one atomic step.
 * Checkpoints and results are written this way.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Receives the stream of the temporary file. */
    @FunctionalInterface
    public interface Writer {
        void write(OutputStream out) throws IOException;
    }

    /**
     * A test seam: called with the target after its temporary file is written and forced to disk, before the rename
     * (a test pauses a process there to kill it mid-write). Null in normal use.
     */
    public static volatile java.util.function.Consumer<Path> beforeRename;

    public static void write(Path target, Writer writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                 OutputStream out = java.nio.channels.Channels.newOutputStream(ch)) {
                writer.write(out);
                out.flush();
                ch.force(true);
            }
            java.util.function.Consumer<Path> hook = beforeRename;
            if (hook != null) hook.accept(target);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    /**
     * Removes what writes killed midway left in {@code dir}: the temporary files {@link #write} names
     * {@code .<target>.<random>.tmp} (a process killed before its rename leaves one behind; the target itself is
     * whole, old or new). Returns the names removed. Call it only where no other process is writing.
     */
    public static java.util.List<String> removeLeftovers(Path dir) throws IOException {
        java.util.List<String> removed = new java.util.ArrayList<>();
        try (java.nio.file.DirectoryStream<Path> ds = Files.newDirectoryStream(dir, ".*.tmp")) {
            for (Path p : ds) {
                if (Files.isRegularFile(p)) {
                    Files.delete(p);
                    removed.add(p.getFileName().toString());
                }
            }
        }
        removed.sort(null);
        return removed;
    }
}
