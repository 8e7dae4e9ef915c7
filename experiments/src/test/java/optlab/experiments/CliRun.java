package optlab.experiments;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;

/** A main's command run through {@link Cli#run} with System.out and System.err captured: its exit code and what it printed. */
public record CliRun(int code, String out, String err) {
    public static CliRun of(Object command, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out, oldErr = System.err;
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            int code = Cli.run(command, args);
            return new CliRun(code, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
