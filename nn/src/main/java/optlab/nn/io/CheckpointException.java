package optlab.nn.io;

import java.io.IOException;
import java.util.List;

/**
 * A checkpoint file that cannot be used: malformed or truncated (see {@link SafeTensors}), or not
 * matching what it is loaded into (missing, extra or mis-shaped tensors, see {@link Checkpoint}). The
 * message lists every problem; {@link #problems()} has them one by one and {@link #names()} the tensor
 * names involved. When a load throws this, nothing in memory has been changed.
 */
public final class CheckpointException extends IOException {
    private final List<String> problems;
    private final List<String> names;

    public CheckpointException(String file, List<String> problems, List<String> names) {
        super(file + ": " + (problems.size() == 1 ? problems.get(0) : problems.size() + " problems:\n  " + String.join("\n  ", problems)));
        this.problems = List.copyOf(problems);
        this.names = List.copyOf(names);
    }

    public CheckpointException(String file, String problem, String... names) {
        this(file, List.of(problem), List.of(names));
    }

    public List<String> problems() {
        return problems;
    }

    /** The tensor names the problems are about (may be empty for a problem of the file as a whole). */
    public List<String> names() {
        return names;
    }
}
