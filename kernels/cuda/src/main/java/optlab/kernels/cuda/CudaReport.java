package optlab.kernels.cuda;

import optlab.kernels.KernelChoices;

/**
 * Prints what a GPU run can use: the probe's steps (JCuda natives, driver, devices, kernel files), the vendor
 * libraries (cuBLAS, cuDNN: which binding loaded, from where, which version, or why not) and the default
 * kernel choices. bin/gpu-run runs it first. Exit status 0 when CUDA is usable, 2 when not.
 */
public final class CudaReport {
    private CudaReport() {}

    public static void main(String[] args) {
        Cuda.Status s = Cuda.probe();
        System.out.println(s);
        for (String line : VendorLibraries.report()) System.out.println(line);
        System.out.println(KernelChoices.defaults().summary(KernelChoices.Target.CUDA));
        System.exit(s.usable() ? 0 : 2);
    }
}
