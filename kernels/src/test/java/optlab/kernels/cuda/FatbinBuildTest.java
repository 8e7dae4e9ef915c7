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
        try (InputStream in = Cuda.class.getResourceAsStream(Cuda.resource("elementwise"))) {
            assertNotNull(in, "elementwise.fatbin missing although nvcc is present");
            byte[] head = in.readNBytes(4);
            assertEquals(FATBIN_MAGIC, ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt(), "not a fatbin");
        }
    }
}
