package optlab.experiments;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import optlab.experiments.analysis.Report;
import optlab.experiments.analysis.SweepResults;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code bin/optlab report DIR... [--out OUT]}: the analysis of one or more sweeps (docs/ANALYSIS.md). */
@Command(name = "report", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Report on one or more sweep directories: every trial as CSV, the papers' figures (PNG and SVG) and tables, a Markdown",
            "report per sweep. What a sweep has not finished is left out and named."})
public final class ReportCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "DIR", description = "sweep directories (bin/optlab sweep plan)")
    List<Path> dirs;

    @Option(names = "--out", paramLabel = "OUT", description = "where to write the report (default: DIR/report for one sweep, else report)")
    Path out;

    @Option(names = "--select", paramLabel = "METRIC",
            description = "selection metric: valid_error, test_error, train_loss, valid_loss ... (default: valid_error where recorded, else test_error)")
    String select;

    @Option(names = "--report", paramLabel = "METRIC", defaultValue = "test_error", description = "reported metric (default: ${DEFAULT-VALUE})")
    String report;

    @Option(names = "--target", paramLabel = "X", description = "steps-to-target threshold on the selection metric (default: see the report)")
    Double target;

    @Option(names = "--diverged", paramLabel = "X", defaultValue = "1.0", description = "the error a diverged trial reports (default: ${DEFAULT-VALUE})")
    double diverged;

    @Override
    public Integer call() {
        List<SweepResults> sweeps = new ArrayList<>();
        for (Path d : dirs) sweeps.add(SweepResults.read(d));
        Path o = out != null ? out : dirs.size() == 1 ? dirs.get(0).resolve("report") : Path.of("report");
        List<Path> written = new Report(select, report, target, diverged).write(sweeps, o, System.out);
        System.out.println("report: " + o.resolve("README.md") + " (" + written.size() + " files and the figures in " + o.resolve("figures") + ")");
        return 0;
    }
}
