package optlab.kernels.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

/**
 * JCuda handles that expose their raw addresses.
 *
 * <p>NOTE [raw-pointers]: the backend passes device pointers to kernels as plain 64-bit values (a kernel
 * parameter of pointer type is 8 bytes) computed as {@code base + offset * elementBytes}, and hands the
 * same values to the vendor libraries through Java's foreign-function API. JCuda keeps the address of a
 * {@link CUdeviceptr} or {@link CUstream} in a protected field; these subclasses read it. Where a JCuda call
 * needs a {@code CUdeviceptr} for an address, {@link #at} makes one (JCuda adds a pointer's byte offset to
 * its base, here 0, when it passes it to the driver).
 */
final class Handles {
    private Handles() {}

    /** Device memory from {@code cuMemAlloc}, with its address readable. */
    static final class DeviceMemory extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    /** A stream from {@code cuStreamCreate}, with its handle readable (a {@code cudaStream_t} for cuBLAS/cuDNN). */
    static final class Stream extends CUstream {
        long address() {
            return getNativePointer();
        }
    }

    private static final CUdeviceptr ZERO = new CUdeviceptr();

    private static final class AddressPtr extends CUdeviceptr {
        AddressPtr(long address) {
            super(ZERO, address);
        }
    }

    /** A {@code CUdeviceptr} that points at {@code address}. */
    static CUdeviceptr at(long address) {
        return new AddressPtr(address);
    }

    private static final class RawPointer extends Pointer {
        RawPointer(long address) {
            super(address);
        }
    }

    /** A plain {@code Pointer} holding {@code address} (device pointers for JCublas). */
    static Pointer pointer(long address) {
        return new RawPointer(address);
    }
}
