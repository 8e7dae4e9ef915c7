package optlab.kernels.vendor;

import jcuda.driver.CUstream;
import optlab.kernels.Buffer;
import optlab.kernels.DType;
import optlab.kernels.Ptr;

/**
 * What a vendor binding needs of the CUDA backend that calls it: the device, its stream, device addresses, and scratch
 * memory. {@code optlab.kernels.cuda.CudaBackend} implements it, so the bindings never name the backend.
 */
public interface VendorContext {
    /** The CUDA device's ordinal (a binding keeps one library handle per device). */
    int deviceIndex();

    /** Makes the device's context current on this thread. */
    void enterDevice();

    /** The stream every launch of the backend goes to. */
    CUstream stream();

    /** The stream's address, for bindings through FFM. */
    long streamAddress();

    /** The device address of {@code p}. */
    long address(Ptr p);

    /** Device memory of the backend's allocator (scratch, workspaces). */
    Buffer allocate(DType dtype, int length);

    /** Backend#fill. */
    void fill(Ptr dst, int n, double value);

    /** An asynchronous device-to-device copy on the stream. */
    void copyDeviceToDevice(long dst, long src, long bytes);
}
