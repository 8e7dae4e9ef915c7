package optlab.kernels.cpu;

import optlab.kernels.Backend;
import optlab.kernels.testkit.BackendConformanceTest;

/** The conformance suite on the CPU backend's FLOAT32 kernels. */
class CpuBackendConformanceTest extends BackendConformanceTest {
    @Override
    protected Backend backend() {
        return CpuBackend.get();
    }
}
