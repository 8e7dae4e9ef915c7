package optlab.kernels.testkit;

import java.util.List;
import optlab.kernels.FusedKernel;

/**
 * The kernels module's test fused kernels as a {@link FusedKernel.Catalog} (src/test/resources/META-INF/services), so
 * that {@code fused.axpy} is a valid kernel choice in these tests (GpuFixtures binds it to elementwise.cu's axpy_f32).
 */
public final class TestKernels implements FusedKernel.Catalog {
    @Override
    public List<FusedKernel> kernels() {
        return List.of(BackendConformanceTest.AXPY);
    }
}
