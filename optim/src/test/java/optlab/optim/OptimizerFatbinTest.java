package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import optlab.kernels.FusedKernel;
import optlab.kernels.cuda.Cuda;
import org.junit.jupiter.api.Test;

/**
 * Runs without a GPU: where nvcc is installed (as on CI), every CUDA function a rule's kernel (step or update) names in
 * {@link FusedKernel#cuda()} must exist in the fatbin compiled from its {@code .cu} file (the symbol
 * names are {@code extern "C"}, so they appear verbatim in the fatbin's ELF images).
 */
class OptimizerFatbinTest {
    static boolean nvccPresent() {
        String env = System.getenv("NVCC");
        if (env != null && Files.isExecutable(Path.of(env))) return true;
        if (Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc"))) return true;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "nvcc"))) return true;
        }
        return false;
    }

    @Test
    void everyOptimizerKernelIsInItsFatbin() throws Exception {
        assumeTrue(nvccPresent(), "nvcc is not installed here, so the build skipped the CUDA kernels");
        for (FusedKernel k : UpdateKernels.all()) {
            FusedKernel.CudaFunction f = k.cuda();
            if (f == null) continue; // the host-only float64 kernels (NOTE [float64-parameters])
            try (InputStream in = OptimizerFatbinTest.class.getResourceAsStream(Cuda.resource(f.module()))) {
                assertNotNull(in, f.module() + ".fatbin missing although nvcc is present");
                String bytes = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
                assertTrue(bytes.contains(f.function() + "\0"), f.function() + " not found in " + f.module() + ".fatbin");
            }
        }
    }
}
