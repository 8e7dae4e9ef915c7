package optlab.kernels.reference;

import optlab.kernels.Backend;
import optlab.kernels.testkit.BackendConformanceTest;

/**
 * The conformance suite every backend passes, on the reference backend: its FLOAT32 answers are the double reference
 * rounded once (NOTE [float32-as-double]), so they lie within the suite's float tolerance of the reference by
 * construction; what this holds it to is the rest of the contract (offsets, strides, aliasing, in-place calls,
 * accumulation, argument checks, freeing every buffer).
 */
class ReferenceBackendConformanceTest extends BackendConformanceTest {
    @Override
    protected Backend backend() {
        return ReferenceBackend.get();
    }
}
