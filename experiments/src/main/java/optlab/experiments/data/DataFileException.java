package optlab.experiments.data;

import java.nio.file.Path;

/** A data file is missing, unreadable or malformed; the message names the file and the problem. */
public final class DataFileException extends RuntimeException {
    public DataFileException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public DataFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
