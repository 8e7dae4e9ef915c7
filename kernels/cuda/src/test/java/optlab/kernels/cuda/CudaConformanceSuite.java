package optlab.kernels.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import optlab.kernels.Backend;
import optlab.kernels.testkit.BackendConformanceTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

/** The suite on a view of the CUDA backend with a launch configuration and registry entries. */
abstract class CudaConformanceSuite extends BackendConformanceTest {
    private Backend backend;

    /** Each test is reported as skipped, with the probe's reasons, where no GPU is usable. */
    @BeforeEach
    void requireGpu() {
        GpuFixtures.requireGpu();
    }

    /**
     * A class that changes one op's kernel runs only the tests tagged with it ({@link #only()}): the others run the same
     * kernels as the default configuration's class, which runs them all (and CI time on the emulator is finite).
     */
    @BeforeEach
    void onlyTheTestsTheVariantChanges(TestInfo test) {
        String tag = only();
        assumeTrue(tag == null || test.getTags().contains(tag), () -> "runs the same kernels as the default configuration: not repeated for "
                + kernels());
    }

    /** The tag of the tests this class's variant changes, or null for all (launch configurations change every kernel). */
    String only() {
        return null;
    }

    /** The launch configuration, from the backend's default one. */
    LaunchConfig config(LaunchConfig defaults) {
        return defaults;
    }

    /** Kernel choices (a KernelChoices spec) for this configuration. */
    String kernels() {
        return "";
    }

    @Override
    protected Backend backend() {
        if (backend == null) {
            CudaBackend b = CudaBackend.get();
            backend = b.withLaunch(config(b.launchConfig())).withChoices(GpuFixtures.choices(kernels()));
        }
        return backend;
    }
}
