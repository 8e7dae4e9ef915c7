package optlab.experiments;

import java.util.concurrent.Callable;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;
import optlab.kernels.testkit.Conformance;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bin/optlab kernels}: the kernel choices' table, and the conformance kit a user runs on a kernel before using
 * it ({@code kernels check OP=SPEC}; docs/KERNELS.md).
 */
@Command(name = "kernels", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "List every op's kernel variants and defaults; 'check OP=SPEC' tests a user kernel against the reference.",
        subcommands = {KernelsCommand.Check.class})
public final class KernelsCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.printf("%-24s %-14s %-18s %s%n", "op", "cpu default", "cuda default", "variants");
        for (String op : KernelChoices.ops()) {
            if ((op.startsWith("unary.") || op.startsWith("binary.")) && !op.endsWith(".relu") && !op.endsWith(".add")) continue;
            String shown = op.startsWith("unary.") ? "unary.<op>" : op.startsWith("binary.") ? "binary.<op>" : op;
            StringBuilder v = new StringBuilder();
            for (KernelChoices.Variant x : KernelChoices.variants(op)) {
                v.append(v.isEmpty() ? "" : ", ").append(x.name()).append(" (").append(x.target().name().toLowerCase(java.util.Locale.ROOT)).append(')');
            }
            System.out.printf("%-24s %-14s %-18s %s%n", shown, KernelChoices.defaults().choice(op, KernelChoices.Target.CPU).variant(),
                    KernelChoices.defaults().choice(op, KernelChoices.Target.CUDA).variant(), v);
            System.out.printf("%-24s %s%n", "", KernelChoices.abi(op));
        }
        System.out.printf("%-24s %-14s %-18s %s%n", "fused.<kernel>", "host", "own", String.join(", ", KernelChoices.fusedKernelNames()));
        System.out.println();
        System.out.println("Choose with --kernels OP=VARIANT,...; a user kernel is OP=java:[JAR_OR_DIR:]CLASS (cpu) or OP=user:FILE:FUNCTION (cuda; user:FILE:PREFIX for a family of several functions: see its ABI).");
        System.out.println("bin/optlab kernels check OP=SPEC tests one against the reference; docs/KERNELS.md has the ABIs and examples.");
        return 0;
    }

    /** {@code bin/optlab kernels check OP=SPEC}: exit 0 when the kernel conforms, 1 when it does not, 2 for a bad spec. */
    @Command(name = "check", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = "Run an op's conformance cases (random inputs, odd sizes, several geometries, forward and backward) through a "
                    + "user kernel and compare every output element with the double-precision reference.")
    static final class Check implements Callable<Integer> {
        @Parameters(paramLabel = "OP=SPEC", description = "one kernel choice, e.g. conv2d=java:/path/k.jar:my.Conv")
        String entry;

        @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
        String device;

        @Option(names = "--seed", defaultValue = "0", description = "seed of the random inputs (default: ${DEFAULT-VALUE})")
        long seed;

        @Override
        public Integer call() {
            Conformance.Result r = Conformance.check(entry, Device.parse(device), seed);
            r.lines().forEach(System.out::println);
            return r.passed() ? 0 : 1;
        }
    }
}
