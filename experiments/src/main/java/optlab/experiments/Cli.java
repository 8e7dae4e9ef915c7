package optlab.experiments;

import optlab.experiments.data.DataFileException;
import optlab.experiments.run.Trainer;
import optlab.experiments.train.TrainingDivergedException;
import optlab.nn.io.CheckpointException;
import picocli.CommandLine;

/**
 * Runs a picocli command. Known failures print one clear line (no stack trace): bad input (a bad option, config value,
 * data file or checkpoint) exits with 2; a training run that failed (its result.json says why) or a file that cannot be
 * read or written, with 1.
 */
public final class Cli {
    private Cli() {}

    public static int run(Object command, String... args) {
        CommandLine cl = new CommandLine(command);
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof Trainer.RunFailedException) {
                line.getErr().println("error: " + e.getMessage());
                return 1;
            }
            if (e instanceof java.io.UncheckedIOException u) {
                line.getErr().println("error: " + u.getMessage() + ": " + u.getCause().getMessage());
                return 1;
            }
            if (e instanceof DataFileException || e instanceof TrainingDivergedException || e instanceof IllegalArgumentException
                    || e instanceof CheckpointException) {
                line.getErr().println("error: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cl.execute(args);
    }
}
