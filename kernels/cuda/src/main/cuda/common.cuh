// common.cuh: helpers shared by the CUDA backend's kernel files (included, never compiled alone).
//
// Conventions every kernel file of optlab.kernels.cuda.CudaBackend follows:
//   - extern "C" names, so PTX symbols and cuModuleGetFunction names are readable: <op>_<dtype>.
//   - Pointers arrive already advanced to the Ptr's element offset (the Java side adds offset*bytes), so a
//     kernel never sees a buffer's base. They may therefore be misaligned for vector loads: kernels here use
//     scalar loads unless a comment says otherwise.
//   - Element counts are int (the contract's limit, 2^31-1); loop indices are 64-bit so that a grid-stride
//     loop near that limit cannot overflow.
//   - Every elementwise kernel is a grid-stride loop: correct for any grid and block size. The backend picks
//     the launch (CudaBackend.LaunchConfig), and the tests run block sizes 1..1024 and odd grids.
//   - No fast-math: nvcc's defaults (-prec-div=true, -prec-sqrt=true, -ftz=false) keep float division and
//     sqrt correctly rounded, as Java's are. Where a result must equal the Java reference bit for bit (the
//     random fills), the arithmetic uses __dadd_rn/__dmul_rn so that nvcc cannot contract it into an fma.
#pragma once
#include <stdint.h>

#define OPTLAB_MAX_RANK 8

// A strided iteration over `rank` dimensions for two operands (copy: 0 = dst, 1 = src). The host coalesces
// shape and strides first (optlab.kernels.Strides#coalesce) and refuses ranks above OPTLAB_MAX_RANK. Passed by
// value as a kernel parameter: the Java side packs it as an int[] of the same layout (CudaBackend#strided).
struct Strided2 {
    int rank;
    int shape[OPTLAB_MAX_RANK];
    int s0[OPTLAB_MAX_RANK];
    int s1[OPTLAB_MAX_RANK];
};

// The same for three operands (binary: 0 = out, 1 = a, 2 = b).
struct Strided3 {
    int rank;
    int shape[OPTLAB_MAX_RANK];
    int s0[OPTLAB_MAX_RANK];
    int s1[OPTLAB_MAX_RANK];
    int s2[OPTLAB_MAX_RANK];
};

// Registers: every kernel launched with the backend's configurable block size (LaunchConfig.block, 1..1024, or a
// user kernel's block option) must compile to at most 64 registers per thread for sm_80/sm_90 (a block gets at most
// 65536), or a launch of 1024 threads fails on a GPU with CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES (never on the CPU
// emulator). All of this directory's do without help (nvcc -Xptxas -v, sm_80 and sm_90: 20..48); one that grows past 64 needs
// __launch_bounds__(1024) (as optim_common.cuh's float64-state kernels). Not on all of them: a bound changes ptxas's
// heuristics, and these kernels then took more registers (up to 64) than they do without one.

// Grid-stride loop over [0, n) with a 64-bit index.
#define GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)blockDim.x * gridDim.x)

// Block-stride loop over [0, n) (threads of one block cooperate on one item).
#define BLOCK_STRIDE(i, n) for (long long i = threadIdx.x; i < (long long)(n); i += blockDim.x)

// Reduces one value per thread over the whole block with combine(a, b); every thread gets the result.
// Works for ANY blockDim.x (not only powers of two or multiples of 32): a pairwise tree over shared memory,
// so the summation order depends only on the block size (deterministic run to run). smem must hold
// blockDim.x values of A. Must be called by every thread of the block.
template <typename A, typename F>
__device__ __forceinline__ A block_reduce(A v, A* smem, F combine) {
    const int t = threadIdx.x;
    smem[t] = v;
    __syncthreads();
    for (int s = 1; s < (int)blockDim.x; s <<= 1) {
        if ((t & (2 * s - 1)) == 0 && t + s < (int)blockDim.x) smem[t] = combine(smem[t], smem[t + s]);
        __syncthreads();
    }
    A r = smem[0];
    __syncthreads();  // smem may be reused right after
    return r;
}

struct SumOp {
    template <typename A>
    __device__ __forceinline__ A operator()(A a, A b) const { return a + b; }
};

// max(a, b), NaN-propagating, as optlab.kernels.BinaryOp.MAX: a NaN on either side wins.
struct MaxOp {
    template <typename A>
    __device__ __forceinline__ A operator()(A a, A b) const { return (a != a || a >= b) ? a : b; }
};

// Dynamic shared memory, aligned for doubles; kernels cast it to the element type they need. (The CPU emulator,
// emu/cuda_emu.h, defines its own version first.)
#ifndef SHARED_SCRATCH
#define SHARED_SCRATCH(T, name) \
    extern __shared__ __align__(16) unsigned char optlab_shared_raw[]; \
    T* name = reinterpret_cast<T*>(optlab_shared_raw)
#endif

// Records the first bad position of an index/label check: flag starts at INT_MAX (the host resets it), and
// the host reads it back after the launch to throw an error naming the value and its position.
__device__ __forceinline__ void report_bad_index(int* flag, int position) {
    if (flag != nullptr) atomicMin(flag, position);
}
