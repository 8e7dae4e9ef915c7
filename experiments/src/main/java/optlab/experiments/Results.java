package optlab.experiments;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;
import optlab.nn.io.AtomicFiles;

/** Writes a run's settings and results as pretty JSON, atomically (NOTE: a crash never leaves half a file). */
public final class Results {
    private Results() {}

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static void write(Path file, Object results) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(results);
        AtomicFiles.write(file, bytes);
    }

    public static ObjectMapper json() {
        return JSON;
    }
}
