package optlab.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import optlab.kernels.BinaryOp;
import optlab.kernels.Tolerance;
import optlab.kernels.reference.RefElementwise;
import optlab.kernels.testkit.GpuTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The first kernel through the whole path: nvcc fatbin, cuModuleLoadData, launch, against the reference. */
@GpuTest
class CudaAddKernelTest {
    @ParameterizedTest(name = "n={0} grid={1} block={2}")
    @CsvSource({"1,1,1", "7,1,32", "1023,3,256", "1000003,1024,256", "4099,7,97"})
    void addMatchesReferenceAtEveryLaunchConfiguration(int n, int grid, int block) {
        assumeTrue(Cuda.probe().usable(), () -> Cuda.probe().toString());
        CUfunction add = Cuda.function("elementwise", "add_f32");
        SplittableRandom r = new SplittableRandom(n);
        float[] a = new float[n], b = new float[n], out = new float[n];
        double[] expected = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
            b[i] = (float) r.nextGaussian();
        }
        RefElementwise.binary(BinaryOp.ADD, new int[] {n}, expected, 0, new int[] {1}, wide(a), 0, new int[] {1}, wide(b), 0, new int[] {1});
        long bytes = (long) n * Sizeof.FLOAT;
        CUdeviceptr da = new CUdeviceptr(), db = new CUdeviceptr(), dout = new CUdeviceptr();
        cuMemAlloc(da, bytes);
        cuMemAlloc(db, bytes);
        cuMemAlloc(dout, bytes);
        try {
            cuMemcpyHtoD(da, Pointer.to(a), bytes);
            cuMemcpyHtoD(db, Pointer.to(b), bytes);
            Pointer params = Pointer.to(Pointer.to(da), Pointer.to(db), Pointer.to(dout), Pointer.to(new int[] {n}));
            cuLaunchKernel(add, grid, 1, 1, block, 1, 1, 0, null, params, null);
            cuCtxSynchronize();
            cuMemcpyDtoH(Pointer.to(out), dout, bytes);
        } finally {
            cuMemFree(da);
            cuMemFree(db);
            cuMemFree(dout);
        }
        Tolerance.FLOAT32.assertClose("add_f32 n=" + n, out, expected);
    }

    private static double[] wide(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
