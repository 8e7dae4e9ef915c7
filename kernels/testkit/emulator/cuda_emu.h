// cuda_emu.h: just enough of CUDA's device-side language to compile the engine's kernel files with g++ and run
// them on the CPU, inside emu/driver.cpp, a stand-in for the NVIDIA driver's libcuda.so.1.
//
// What it is for: checking the kernels' index arithmetic and the Java side's plumbing (argument packing, device
// addresses, offsets, launch configurations, the convolution's GEMM orchestration, the allocator) on a machine
// without a GPU, by running the real GPU test suite against it (docs/GPU.md, "The CPU emulator").
// What it is NOT: a GPU. Threads of a block run one at a time as fibers (ucontext), switching only at
// __syncthreads, so warp-level behaviour, the memory model and performance are not tested; WMMA fragments (mma.h) are
// whole tiles held by every thread. float math is the host's
// (glibc expf/logf/... and -ffp-contract=off), not CUDA's: no FMA contraction, so a kernel whose float result
// must equal the CPU's bit for bit must say so itself (__fmul_rn/__fadd_rn, which nvcc never contracts).
// What it catches beyond indices (emu/driver.cpp):
//   - shared-memory races between __syncthreads: between two barriers the fibers run in a fresh random order
//     (OPTLAB_EMU_ORDER=random, the default; or forward / reverse), so a thread that reads what another writes
//     in the same phase sees it or not depending on the order, and the result comes out wrong in some launch;
//   - uninitialized shared memory: dynamic AND static __shared__ memory is filled with 0xFF bytes (a float or
//     double NaN) at the start of every block;
//   - divergent barriers: a block where some threads wait at a __syncthreads while others have returned, or
//     wait at another __syncthreads (another source line), fails the launch (CUDA_ERROR_LAUNCH_FAILED, with a
//     message on stderr naming the kernel, the block and the lines): undefined behaviour on a GPU, a hang or
//     garbage there.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

// Device code guarded by an architecture test compiles as for an H100 (mma.h emulates the WMMA it uses).
#define __CUDA_ARCH__ 900

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

// The running thread's coordinates (one OS thread runs every launch; emu/driver.cpp sets these before it switches
// to a fiber).
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
// __syncthreads() records its source line, so that the driver can tell two barriers apart (divergence check).
extern "C" void optlab_emu_syncthreads(const char* file, int line);
#define __syncthreads() optlab_emu_syncthreads(__FILE__, __LINE__)

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Static shared arrays: one copy, shared by the block's fibers (blocks run one after another), in a section of
// their own that the driver poisons before every block (__start_/__stop_optlab_emu_static_shared).
#define __shared__ static __attribute__((section("optlab_emu_static_shared")))

// Dynamic shared memory: one buffer of the launch's sharedMemBytes (at most 48 KiB, as on a GPU without opt-in).
extern "C" unsigned char optlab_emu_shared[];
#define SHARED_SCRATCH(T, name) T* name = reinterpret_cast<T*>(optlab_emu_shared)

struct __attribute__((aligned(16))) float4 {
    float x, y, z, w;
};
struct __attribute__((aligned(8))) float2 {
    float x, y;
};
struct __attribute__((aligned(16))) double2 {
    double x, y;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline double2 make_double2(double x, double y) { return double2{x, y}; }

inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline float __double2float_rn(double d) { return (float)d; }
inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}
inline int __float_as_int(float f) {
    int i;
    std::memcpy(&i, &f, 4);
    return i;
}

inline long long __double_as_longlong(double d) {
    long long i;
    std::memcpy(&i, &d, 8);
    return i;
}
// Leading zero bits of a 32-bit / 64-bit integer (32 / 64 for zero), as CUDA's intrinsics.
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }

// Fibers never run concurrently, so plain read-modify-write is atomic here.
inline int atomicMin(int* p, int v) {
    int old = *p;
    if (v < old) *p = v;
    return old;
}
inline float atomicAdd(float* p, float v) {
    float old = *p;
    *p = old + v;
    return old;
}
inline double atomicAdd(double* p, double v) {
    double old = *p;
    *p = old + v;
    return old;
}
inline int atomicAdd(int* p, int v) {
    int old = *p;
    *p = old + v;
    return old;
}

using std::max;
using std::min;
