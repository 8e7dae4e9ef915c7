package optlab.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Proves the build's nvcc step (NOTE [fatbins]): where nvcc exists, as on CI, every kernel file must
 * have been compiled into a fatbin on the class path. Runs without a GPU.
 */
class FatbinBuildTest {
    /** The fatbin container's magic number (NVIDIA's fatbinary format header, little-endian 0xBA55ED50). */
    private static final int FATBIN_MAGIC = 0xBA55ED50;

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
    void everyKernelFileWasCompiledIntoAFatbin() throws Exception {
        assumeTrue(nvccPresent(), "nvcc is not installed here, so the build skipped the CUDA kernels");
        for (String module : Cuda.MODULES) {
            try (InputStream in = Cuda.class.getResourceAsStream(Cuda.resource(module))) {
                assertNotNull(in, module + ".fatbin missing although nvcc is present");
                byte[] head = in.readNBytes(4);
                assertEquals(FATBIN_MAGIC, ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt(), module + ".fatbin is not a fatbin");
            }
        }
    }

    @Test
    void everyKernelFileIsListedInCudaModules() throws Exception {
        // a new src/main/cuda/X.cu must be added to Cuda.MODULES, or the probe and this test would not know it
        Path src = Path.of("src/main/cuda");
        assumeTrue(Files.isDirectory(src), "run from the kernels module directory (as Maven does)");
        try (var files = Files.list(src)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".cu")).toList()) {
                String name = p.getFileName().toString().replace(".cu", "");
                org.junit.jupiter.api.Assertions.assertTrue(Cuda.MODULES.contains(name), name + ".cu is not in Cuda.MODULES");
            }
        }
    }
}
