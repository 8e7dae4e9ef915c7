/**
 * The vendor bindings behind the CUDA backend's {@code cublas}, {@code cublas_tf32} and {@code cudnn} variants: cuBLAS
 * ({@link optlab.kernels.vendor.Cublas}) and cuDNN 9 ({@link optlab.kernels.vendor.Cudnn9}), each reached through a
 * {@link optlab.kernels.vendor.VendorContext} that the backend implements. {@code optlab.kernels.cuda.VendorLibraries}
 * loads them on first use and reports every attempt. The engine's own kernels never need them.
 *
 * <p>NOTE [vendor-ffm]: JCublas 12.6.0 needs libcublas.so.12 and JCudnn 11.7.0 (the newest on Maven
 * Central) needs libcudnn.so.8, importing symbols versioned {@code libcudnn.so.8} and the v6/v7 RNN API
 * that cuDNN 9 removed; a cuDNN 9 / CUDA 13 machine (ours: PyTorch's cu130 wheels) has neither, and no
 * symlink can satisfy versioned symbols. So each adapter tries the JCuda binding first, reports why it
 * failed, then binds the library that is there (libcublas.so.13 or .12, libcudnn.so.9) directly with
 * Java's foreign-function API: a handful of C functions with plain integer and pointer arguments,
 * which the JCuda bindings would otherwise wrap.
 */
package optlab.kernels.vendor;
