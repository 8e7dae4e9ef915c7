package optlab.experiments.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code bin/optlab} as a child process, the way a user does, on the test's own class path (OPTLAB_CLASSPATH:
 * nothing is built) and JDK.
 */
public final class OptLabProcess {
    private OptLabProcess() {}

    public static final Path ROOT = Path.of("").toAbsolutePath().getParent(); // tests run in experiments/

    /** The finished child: exit code, stdout, stderr. */
    public record Result(int code, String out, String err) {}

    /** A ProcessBuilder for bin/optlab with {@code args}, extra JVM options and stdout/stderr to files in {@code logs}. */
    public static ProcessBuilder builder(Path logs, List<String> jvmOptions, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ROOT.resolve("bin/optlab").toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        environment(pb.environment(), jvmOptions);
        Files.createDirectories(logs);
        pb.redirectOutput(logs.resolve("stdout.txt").toFile());
        pb.redirectError(logs.resolve("stderr.txt").toFile());
        return pb;
    }

    /** The environment that makes bin/optlab run this test's classes with this JDK. */
    public static void environment(Map<String, String> env, List<String> jvmOptions) {
        env.put("OPTLAB_CLASSPATH", System.getProperty("java.class.path"));
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("OPTLAB_HEAP", "-Xmx2g");
        env.put("OPTLAB_JAVA_OPTS", String.join(" ", jvmOptions));
    }

    /** Runs to the end (at most {@code timeoutSeconds}). */
    public static Result run(Path logs, List<String> jvmOptions, long timeoutSeconds, String... args) throws IOException, InterruptedException {
        Process p = builder(logs, jvmOptions, args).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("bin/optlab " + String.join(" ", args) + " ran past " + timeoutSeconds + " s; stderr: "
                    + Files.readString(logs.resolve("stderr.txt")));
        }
        // the launcher's stderr filter may write its last bytes just after the JVM ends
        Thread.sleep(100);
        return new Result(p.exitValue(), Files.readString(logs.resolve("stdout.txt")), Files.readString(logs.resolve("stderr.txt")));
    }
}
