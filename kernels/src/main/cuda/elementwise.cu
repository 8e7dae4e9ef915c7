// elementwise.cu: elementwise kernels of the CUDA backend.
//
// Math (reference: optlab.kernels.BinaryOp#apply, optlab.kernels.reference.RefElementwise#binary):
//   add_f32:  out[i] = a[i] + b[i]              for i in [0, n)
//
// Layout: compact float32 arrays of n elements; out may alias a or b (each element is read before it
// is written, by the same thread).
//
// Variants and launch constraints:
//   add_f32          one element per thread, grid-stride loop: any grid and block size is correct;
//                    the CUDA backend launches blocks of 256 and enough blocks to cover n (capped),
//                    and the tests also run 1x1, 1x32 and odd grids.
//
// Compiled ahead of time by bin/compile-cuda into elementwise.fatbin (SASS sm_80, sm_90, PTX compute_90),
// loaded with cuModuleLoadData. extern "C" keeps the symbol names readable in PTX and for cuModuleGetFunction.

extern "C" __global__ void add_f32(const float* a, const float* b, float* out, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        out[i] = a[i] + b[i];
    }
}
