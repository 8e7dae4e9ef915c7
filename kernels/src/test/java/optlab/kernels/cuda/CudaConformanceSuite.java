package optlab.kernels.cuda;

import optlab.kernels.Backend;
import optlab.kernels.BackendConformanceTest;
import org.junit.jupiter.api.BeforeEach;

/** The suite on a view of the CUDA backend with a launch configuration and registry entries. */
abstract class CudaConformanceSuite extends BackendConformanceTest {
    private Backend backend;

    /** Each test is reported as skipped, with the probe's reasons, where no GPU is usable. */
    @BeforeEach
    void requireGpu() {
        GpuFixtures.requireGpu();
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
