package optlab.kernels.cuda;

import static optlab.kernels.testkit.BackendConformanceTest.GEMM;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import optlab.kernels.Tolerance;
import optlab.kernels.testkit.GpuTest;
import optlab.kernels.vendor.Cublas;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;

/**
 * The backend conformance suite (every primitive against the double reference, odd sizes included) on the
 * CUDA backend, at the default launch configuration and, in the nested classes, at other block sizes, odd
 * and tiny grids, each reduction variant, and each GEMM / convolution variant of the kernel choices
 * (DESIGN.md: check every variant at every launch configuration). A gemm variant's class runs the tests that run the
 * gemm op (tagged {@code gemm}); the others run the default configuration's kernels, already checked above. Each test is skipped, with the probe's
 * reasons, where no GPU is usable (CudaConformanceSuite#requireGpu).
 */
@GpuTest
class CudaBackendConformanceTest extends CudaConformanceSuite {
    @Nested
    class Block32ThreeBlocksRowReductions extends CudaConformanceSuite {
        @Override
        LaunchConfig config(LaunchConfig d) {
            return d.withBlock(32).withMaxBlocks(3).withReduce(LaunchConfig.Reduce.ROWS).withGemmGrid(1);
        }
    }

    @Nested
    class Block97FiveBlocksColumnReductions extends CudaConformanceSuite {
        @Override
        LaunchConfig config(LaunchConfig d) {
            return d.withBlock(97).withMaxBlocks(5).withReduce(LaunchConfig.Reduce.COLS).withGemmGrid(2);
        }
    }

    @Nested
    class Block128SevenBlocks extends CudaConformanceSuite {
        @Override
        LaunchConfig config(LaunchConfig d) {
            return d.withBlock(128).withMaxBlocks(7).withReduce(LaunchConfig.Reduce.ROWS).withGemmGrid(3);
        }
    }

    @Nested
    class Block1024OneBlock extends CudaConformanceSuite {
        @Override
        LaunchConfig config(LaunchConfig d) {
            return d.withBlock(1024).withMaxBlocks(1).withReduce(LaunchConfig.Reduce.COLS).withGemmGrid(1);
        }
    }

    @Nested
    class NaiveGemm extends CudaConformanceSuite {
        @Override
        String only() {
            return GEMM;
        }

        @Override
        String kernels() {
            return "gemm=own_naive";
        }
    }

    /**
     * own_tiled_fp32_v2 with its 128x128 kernels forced (the suite's sizes would take the 64x64 one), on grids of at
     * most 2 blocks a dimension (grid-stride over tiles and batches).
     */
    @Nested
    class TiledV2Gemm extends CudaConformanceSuite {
        @Override
        String only() {
            return GEMM;
        }

        @Override
        LaunchConfig config(LaunchConfig d) {
            return d.withGemmTiles(LaunchConfig.GemmTiles.LARGE).withGemmGrid(2);
        }

        @Override
        String kernels() {
            return "gemm=own_tiled_fp32_v2";
        }
    }

    @Nested
    class Tf32Gemm extends CudaConformanceSuite {
        @Override
        String only() {
            return GEMM;
        }

        @Override
        String kernels() {
            return "gemm=own_tf32";
        }

        /** TF32 keeps 10 mantissa bits (2^-11 relative per operand): GEMM and convolution results differ from FP32 by ~1e-3 relative. */
        @Override
        protected Tolerance tol() {
            return new Tolerance(2e-2, 1e-2);
        }
    }

    @Nested
    class UserGemmKernels extends CudaConformanceSuite {
        @Override
        String only() {
            return GEMM;
        }

        /** gemm.cu's own tiled kernel, bound as a user kernel with a tile grid: the registry's tiled launch rule. */
        @Override
        String kernels() {
            return "gemm=user:" + GpuFixtures.fatbinFile("gemm") + ":gemm_tiled64_f32:tile=64x64:block=256";
        }
    }

    @Nested
    class Cublas extends CudaConformanceSuite {
        @Override
        String only() {
            return GEMM;
        }

        @BeforeEach
        void needsCublas() {
            assumeTrue(VendorLibraries.cublasAvailable(), () -> String.join("\n", VendorLibraries.report()));
        }

        @Override
        String kernels() {
            return "gemm=cublas";
        }
    }

    /** Every cuDNN variant at once: convolution, pooling, batch norm and the LSTM layer against the reference. */
    @Nested
    class Cudnn extends CudaConformanceSuite {
        @BeforeEach
        void needsCudnn() {
            assumeTrue(VendorLibraries.cudnnAvailable(), () -> String.join("\n", VendorLibraries.report()));
        }

        @Override
        String kernels() {
            return "conv2d=cudnn, pool2d=cudnn, batchnorm=cudnn, lstm=cudnn";
        }
    }
}
