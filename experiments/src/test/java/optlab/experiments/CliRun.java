package optlab.experiments;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;

/** A main's command run through {@link Cli#run} with System.err captured: its exit code and what it printed there. */
public record CliRun(int code, String err) {
    public static CliRun of(Object command, String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true));
        try {
            int code = Cli.run(command, args);
            return new CliRun(code, err.toString());
        } finally {
            System.setErr(old);
        }
    }
}
