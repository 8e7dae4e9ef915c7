package optlab.experiments;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code bin/optlab}: one command for the papers' experiments, with subcommands ({@code bin/optlab --help}):
 * <pre>
 *   bin/optlab workloads [NAME]                 the workload registry, with each default's source
 *   bin/optlab train --workload W [options]     a training run into a run directory (resumable)
 *   bin/optlab init --workload W --out FILE     a shared initialization (Zhuang et al.'s protocol)
 *   bin/optlab sweep plan|run|submit|status     sweeps: grids and quasi-random searches, locally or on Slurm
 *   bin/optlab report SWEEP_DIR...              analysis: best-of-K curves, rankings, figures, a report
 *   bin/optlab kernels [check OP=SPEC]          kernel choices; the conformance kit for a user kernel
 *   bin/optlab --version                        version and git commit
 * </pre>
 */
@Command(name = "optlab", mixinStandardHelpOptions = true, versionProvider = Version.class,
        subcommands = {WorkloadsCommand.class, TrainCommand.class, InitCommand.class, SweepCommand.class, ReportCommand.class,
            KernelsCommand.class,
            CommandLine.HelpCommand.class},
        description = "Runs the workloads of the optimizer papers on the OptLab engine.")
public final class OptLab implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(Cli.run(new OptLab(), args));
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(System.out);
        return 0;
    }
}
