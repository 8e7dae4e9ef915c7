package optlab.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.Device;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * NOTE [loud-cuda], on every machine: where CUDA is unusable, asking for a GPU backend throws one message
 * with every step the probe tried; where it is usable, the backend comes back. Not GPU-tagged: it checks
 * the no-GPU path on CI and the GPU path on a GPU. Tagged "gpu" (without needing one) so that bin/gpu-run,
 * which runs the gpu tag only, includes it.
 *
 * <p>With {@code -Doptlab.test.expectGpu=true} (bin/test's emulator stage) an unusable CUDA fails here, with the
 * probe's reasons, instead of letting every GPU test skip itself: a stage that skipped everything would pass.
 */
@Tag("gpu")
class CudaProbeTest {
    @Test
    void theProbeNeverThrowsAndSaysWhatItTried() {
        Cuda.Status s = Cuda.probe();
        assertNotNull(s);
        assertFalse(s.steps().isEmpty());
        assertTrue(s.toString().startsWith(s.usable() ? "CUDA usable" : "CUDA unusable"), s.toString());
        if (Boolean.getBoolean("optlab.test.expectGpu")) assertTrue(s.usable(), "-Doptlab.test.expectGpu=true, but " + s);
    }

    @Test
    void aGpuBackendWithoutAUsableGpuFailsWithEveryStepTried() {
        Cuda.Status s = Cuda.probe();
        if (s.usable()) {
            Backend b = Backends.of(Device.cuda(0));
            assertTrue(b.name().startsWith("cuda:0"), b.name());
            var e = assertThrows(IllegalStateException.class, () -> Backends.of(Device.cuda(s.devices().size())));
            assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
            return;
        }
        var e = assertThrows(IllegalStateException.class, () -> Backends.of(Device.cuda(0)));
        assertTrue(e.getMessage().startsWith("no usable GPU."), e.getMessage());
        for (String step : s.steps()) assertTrue(e.getMessage().contains(step), "names the step '" + step + "': " + e.getMessage());
    }

    @Test
    void theVendorReportNeverThrows() {
        List<String> lines = VendorLibraries.report();
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("cuBLAS: ")), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("cuDNN: ")), lines.toString());
        if (!Cuda.probe().usable()) {
            assertFalse(VendorLibraries.cublasAvailable());
            for (String op : new String[] {"conv2d", "pool2d", "batchnorm", "lstm"}) {
                var e = assertThrows(IllegalStateException.class, () -> VendorLibraries.cudnn(op));
                assertTrue(e.getMessage().contains("JCudnn 11.7.0"), e.getMessage());
                assertTrue(e.getMessage().startsWith(op + ": the kernel choices name cudnn, but cuDNN could not be loaded"), e.getMessage());
                String fallback = op + "=" + optlab.kernels.KernelChoices.defaults().choice(op, optlab.kernels.KernelChoices.Target.CUDA).variant();
                assertTrue(e.getMessage().contains("Choose " + fallback + " (the default)"), e.getMessage());
            }
        }
    }
}
