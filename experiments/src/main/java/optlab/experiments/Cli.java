package optlab.experiments;

import optlab.experiments.data.DataFileException;
import optlab.experiments.train.TrainingDivergedException;
import picocli.CommandLine;

/** Runs a picocli command; known failures print one clear line (no stack trace) and exit with 2. */
public final class Cli {
    private Cli() {}

    public static int run(Object command, String... args) {
        CommandLine cl = new CommandLine(command);
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof DataFileException || e instanceof TrainingDivergedException || e instanceof IllegalArgumentException) {
                line.getErr().println("error: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cl.execute(args);
    }
}
