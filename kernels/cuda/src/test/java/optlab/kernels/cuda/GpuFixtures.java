package optlab.kernels.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import optlab.kernels.KernelChoices;

/** Shared setup of the GPU-tagged tests. */
final class GpuFixtures {
    private GpuFixtures() {}

    private static final Map<String, Path> EXTRACTED = new HashMap<>();

    /** Skips the calling test (with the probe's reasons) unless CUDA is usable. */
    static void requireGpu() {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
    }

    /**
     * The engine's own fatbin {@code module} copied to a temporary file, so tests can bind its kernels as user
     * kernels ({@code user:FILE:FUNCTION}) and exercise the registry's file path end to end.
     */
    static synchronized Path fatbinFile(String module) {
        return EXTRACTED.computeIfAbsent(module, m -> {
            try (InputStream in = Cuda.class.getResourceAsStream(Cuda.resource(m))) {
                if (in == null) throw new IllegalStateException(Cuda.resource(m) + " is not on the class path");
                Path dir = Files.createTempDirectory("optlab-kernels");
                Path f = dir.resolve(m + ".fatbin");
                Files.write(f, in.readAllBytes());
                f.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
                return f;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /**
     * The kernel choices of the conformance suites: the suite's AXPY fused kernel has no CUDA function of its own, so it
     * is bound to elementwise.cu's axpy_f32 through a user-kernel entry, plus {@code extra} entries.
     */
    static KernelChoices choices(String extra) {
        KernelChoices r = KernelChoices.defaults().with("fused.axpy=user:" + fatbinFile("elementwise") + ":axpy_f32", "GPU tests");
        return extra.isBlank() ? r : r.with(extra, "GPU tests");
    }

    /** The GPU's backend with {@link #choices}({@code kernels}). */
    static CudaBackend gpu(String kernels) {
        return CudaBackend.get().withChoices(choices(kernels));
    }
}
