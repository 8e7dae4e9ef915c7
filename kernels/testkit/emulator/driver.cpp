// driver.cpp: a stand-in for the NVIDIA driver (libcuda.so.1) that runs the engine's kernels on the CPU, for
// testing without a GPU (see cuda_emu.h for what that checks and what it cannot). JCuda's libJCudaDriver binds the
// driver lazily, so implementing the functions the engine calls is enough; anything else ends the process with a
// "symbol lookup error", which is the right answer for an emulator.
//
// Device: one, named as an emulation, compute capability 9.0, 16 "SMs", OPTLAB_EMU_MEM_MIB (default 4096) MiB of
// memory. Memory is host memory (device pointers are host addresses); each allocation ends at a protected page, so
// a kernel that writes or reads past the end of a buffer crashes instead of corrupting its neighbour. Everything is
// synchronous: a launch runs to completion inside cuLaunchKernel. Launch limits are a GPU's: <= 1024 threads per
// block, <= 48 KiB of dynamic shared memory, grid.y and grid.z <= 65535.
// Blocks: shared memory (dynamic and static) starts as 0xFF bytes; the fibers run from barrier to barrier in an
// order drawn afresh for every phase (env OPTLAB_EMU_ORDER: random (default), forward, reverse; OPTLAB_EMU_SEED:
// the seed of the random order, default 1), so that shared-memory races change results; a divergent barrier
// (threads waiting at different __syncthreads, or waiting while others have returned) fails the launch with
// CUDA_ERROR_LAUNCH_FAILED and a message on stderr (see cuda_emu.h).
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_emu.h"
#include "emu_registry.h"

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
enum : int {
    SUCCESS = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, INVALID_DEVICE = 101, INVALID_IMAGE = 200,
    INVALID_PTX = 218, INVALID_HANDLE = 400, NOT_FOUND = 500, LAUNCH_FAILED = 719
};

dim3 threadIdx, blockIdx, blockDim, gridDim;
alignas(16) unsigned char optlab_emu_shared[48 * 1024];

// The kernels' static __shared__ arrays (cuda_emu.h puts them in this section; the linker defines its bounds).
// Weak: a build whose kernels declare none has no such section.
extern "C" unsigned char __start_optlab_emu_static_shared[] __attribute__((weak));
extern "C" unsigned char __stop_optlab_emu_static_shared[] __attribute__((weak));

std::map<std::string, EmuKernel>& optlab_emu_kernels() {
    static std::map<std::string, EmuKernel> k;
    return k;
}

namespace {
std::recursive_mutex lock;
bool initialized = false;
long long capacity() {
    const char* e = getenv("OPTLAB_EMU_MEM_MIB");
    return (e ? atoll(e) : 4096LL) << 20;
}
long long used = 0;
struct Allocation {
    void* base;
    size_t mapped;
    size_t bytes;
};
std::map<CUdeviceptr, Allocation> allocations;
const size_t PAGE = 4096;

struct Function {
    std::string name;
    EmuKernel* run;
};
std::map<std::string, Function*> functions;
int context_token, module_token, stream_token;

// ---- fibers: the threads of one block ------------------------------------------------------------------------
const size_t STACK = 256 * 1024;
struct Fiber {
    ucontext_t ctx;
    char* stack = nullptr;
    bool done = false;
    const char* file = nullptr;  // the __syncthreads this fiber waits at (valid while !done)
    int line = 0;
};
ucontext_t scheduler;
std::vector<Fiber> fibers;
int current = 0;
std::function<void()>* body = nullptr;

// The order of the fibers within a phase (OPTLAB_EMU_ORDER, OPTLAB_EMU_SEED; see the header comment).
enum class Order { RANDOM, FORWARD, REVERSE };
Order order() {
    static Order o = [] {
        const char* e = getenv("OPTLAB_EMU_ORDER");
        if (!e || !strcmp(e, "random")) return Order::RANDOM;
        if (!strcmp(e, "forward")) return Order::FORWARD;
        if (!strcmp(e, "reverse")) return Order::REVERSE;
        fprintf(stderr, "[emu] OPTLAB_EMU_ORDER=%s: expected random, forward or reverse; using random\n", e);
        return Order::RANDOM;
    }();
    return o;
}
uint64_t rng_state = 0;
uint64_t next_random() {  // splitmix64
    if (rng_state == 0) {
        const char* e = getenv("OPTLAB_EMU_SEED");
        rng_state = 0x9E3779B97F4A7C15ull * (e ? strtoull(e, nullptr, 10) + 1 : 2);
    }
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void fiber_entry() {
    (*body)();
    fibers[current].done = true;  // uc_link returns to the scheduler
}

// Runs one block; returns false (after saying why on stderr) when its threads diverged at a barrier.
bool run_block(unsigned threads, const char* kernel) {
    if (fibers.size() < threads) fibers.resize(threads);
    for (unsigned t = 0; t < threads; t++) {
        Fiber& f = fibers[t];
        if (!f.stack) f.stack = (char*)malloc(STACK);
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack;
        f.ctx.uc_stack.ss_size = STACK;
        f.ctx.uc_link = &scheduler;
        makecontext(&f.ctx, fiber_entry, 0);
        f.done = false;
        f.file = nullptr;
    }
    std::vector<unsigned> perm(threads);
    for (unsigned t = 0; t < threads; t++) perm[t] = order() == Order::REVERSE ? threads - 1 - t : t;
    // phases: every live fiber runs to its next __syncthreads (or its end), in this phase's order
    for (int phase = 0;; phase++) {
        if (order() == Order::RANDOM)
            for (unsigned t = threads; t > 1; t--) std::swap(perm[t - 1], perm[next_random() % t]);
        for (unsigned t : perm) {
            if (fibers[t].done) continue;
            current = (int)t;
            threadIdx.x = t;
            threadIdx.y = threadIdx.z = 0;
            swapcontext(&scheduler, &fibers[t].ctx);
        }
        // every fiber has returned, or waits at a barrier: all the same barrier, or divergence
        int waiting = -1, returned = -1;
        for (unsigned t = 0; t < threads; t++) {
            const Fiber& f = fibers[t];
            if (f.done) {
                if (returned < 0) returned = (int)t;
                continue;
            }
            if (waiting < 0) {
                waiting = (int)t;
                continue;
            }
            const Fiber& w = fibers[waiting];
            if (f.line != w.line || strcmp(f.file, w.file) != 0) {
                fprintf(stderr, "[emu] %s, block (%u, %u, %u), barrier phase %d: DIVERGENT __syncthreads: thread %d waits at %s:%d, "
                        "thread %u at %s:%d (undefined behaviour on a GPU)\n", kernel, blockIdx.x, blockIdx.y, blockIdx.z, phase,
                        waiting, w.file, w.line, t, f.file, f.line);
                return false;
            }
        }
        if (waiting < 0) return true;  // all returned
        if (returned >= 0) {
            const Fiber& w = fibers[waiting];
            fprintf(stderr, "[emu] %s, block (%u, %u, %u), barrier phase %d: DIVERGENT __syncthreads: thread %d waits at %s:%d "
                    "but thread %d has returned (undefined behaviour on a GPU)\n", kernel, blockIdx.x, blockIdx.y, blockIdx.z,
                    phase, waiting, w.file, w.line, returned);
            return false;
        }
    }
}

void poison_shared(unsigned dynamic_bytes) {
    memset(optlab_emu_shared, 0xFF, dynamic_bytes);  // garbage, as uninitialized shared memory is
    if (__start_optlab_emu_static_shared && __stop_optlab_emu_static_shared)
        memset(__start_optlab_emu_static_shared, 0xFF, __stop_optlab_emu_static_shared - __start_optlab_emu_static_shared);
}
}  // namespace

extern "C" void optlab_emu_syncthreads(const char* file, int line) {
    fibers[current].file = file;
    fibers[current].line = line;
    swapcontext(&fibers[current].ctx, &scheduler);
}

extern "C" {
CUresult cuInit(unsigned) {
    initialized = true;
    return SUCCESS;
}
CUresult cuDriverGetVersion(int* v) {
    *v = 13000;
    return SUCCESS;
}
CUresult cuDeviceGetCount(int* c) {
    *c = 1;
    return SUCCESS;
}
CUresult cuDeviceGet(CUdevice* d, int ordinal) {
    if (ordinal != 0) return INVALID_DEVICE;
    *d = 0;
    return SUCCESS;
}
CUresult cuDeviceGetName(char* name, int len, CUdevice) {
    snprintf(name, len, "OptLab CPU emulation of a CUDA device (NOT a GPU)");
    return SUCCESS;
}
CUresult cuDeviceGetAttribute(int* v, int attribute, CUdevice) {
    switch (attribute) {
        case 75: *v = 9; break;   // compute capability major
        case 76: *v = 0; break;   // minor
        case 16: *v = 16; break;  // multiprocessors
        case 1: *v = 1024; break; // max threads per block
        default: *v = 0;
    }
    return SUCCESS;
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice) {
    *bytes = (size_t)capacity();
    return SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain(void** ctx, CUdevice) {
    *ctx = &context_token;
    return SUCCESS;
}
CUresult cuCtxSetCurrent(void*) { return SUCCESS; }
CUresult cuCtxGetCurrent(void** ctx) {
    *ctx = &context_token;
    return SUCCESS;
}
CUresult cuCtxSynchronize() { return SUCCESS; }
// Images are told apart as the driver does: a cubin (ELF), a fatbin (its magic 0xBA55ED50), else NUL-terminated PTX
// text, which is refused with CUDA_ERROR_INVALID_PTX, as the driver's JIT would, unless it has the .version and
// .target directives every PTX file starts with. Nothing is compiled: every registered kernel is in every module.
CUresult cuModuleLoadData(void** module, const void* image) {
    if (!image) return INVALID_VALUE;
    const unsigned char* b = (const unsigned char*)image;  // && stops at the NUL that ends a shorter image
    const bool elf = b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
    const bool fatbin = b[0] == 0x50 && b[1] == 0xed && b[2] == 0x55 && b[3] == 0xba;
    if (!elf && !fatbin && (!strstr((const char*)image, ".version") || !strstr((const char*)image, ".target"))) return INVALID_PTX;
    *module = &module_token;  // every registered kernel is in every module
    return SUCCESS;
}
CUresult cuModuleGetFunction(void** f, void*, const char* name) {
    std::lock_guard<std::recursive_mutex> g(lock);
    auto k = optlab_emu_kernels().find(name);
    if (k == optlab_emu_kernels().end()) return NOT_FOUND;
    Function*& fn = functions[name];
    if (!fn) fn = new Function{name, &k->second};
    *f = fn;
    return SUCCESS;
}
CUresult cuFuncGetAttribute(int* v, int attribute, void*) {
    *v = attribute == 0 ? 1024 : 0;  // CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: registers never limit a block here
    return SUCCESS;
}
CUresult cuStreamCreate(void** s, unsigned) {
    *s = &stream_token;
    return SUCCESS;
}
CUresult cuStreamSynchronize(void*) { return SUCCESS; }

CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
    std::lock_guard<std::recursive_mutex> g(lock);
    if (bytes == 0) return INVALID_VALUE;
    if (used + (long long)bytes > capacity()) return OUT_OF_MEMORY;
    size_t rounded = (bytes + 15) / 16 * 16;
    size_t pages = (rounded + PAGE - 1) / PAGE + 1;  // + a guard page
    void* base = mmap(nullptr, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return OUT_OF_MEMORY;
    mprotect((char*)base + (pages - 1) * PAGE, PAGE, PROT_NONE);
    CUdeviceptr at = (CUdeviceptr)((char*)base + (pages - 1) * PAGE - rounded);  // ends at the guard page
    allocations[at] = Allocation{base, pages * PAGE, bytes};
    used += (long long)bytes;
    *p = at;
    return SUCCESS;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
    std::lock_guard<std::recursive_mutex> g(lock);
    auto a = allocations.find(p);
    if (a == allocations.end()) return INVALID_VALUE;
    munmap(a->second.base, a->second.mapped);
    used -= (long long)a->second.bytes;
    allocations.erase(a);
    return SUCCESS;
}
CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
    *free = (size_t)(capacity() - used);
    *total = (size_t)capacity();
    return SUCCESS;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
    memcpy((void*)dst, src, bytes);
    return SUCCESS;
}
CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
    memcpy(dst, (const void*)src, bytes);
    return SUCCESS;
}
CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
    memmove((void*)dst, (const void*)src, bytes);
    return SUCCESS;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, void*) { return cuMemcpyDtoD_v2(dst, src, bytes); }
CUresult cuMemsetD16Async(CUdeviceptr p, unsigned short v, size_t count, void*) {
    unsigned short* a = (unsigned short*)p;
    for (size_t i = 0; i < count; i++) a[i] = v;
    return SUCCESS;
}
CUresult cuMemsetD32Async(CUdeviceptr p, unsigned v, size_t count, void*) {
    unsigned* a = (unsigned*)p;
    for (size_t i = 0; i < count; i++) a[i] = v;
    return SUCCESS;
}

CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        void*, void** params, void** extra) {
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!f) return INVALID_HANDLE;
    if (extra) return INVALID_VALUE;
    if (bx * by * bz == 0 || bx * by * bz > 1024 || gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535) return INVALID_VALUE;
    if (by != 1 || bz != 1) return INVALID_VALUE;  // the engine's kernels are 1-D blocks
    if (shared > sizeof(optlab_emu_shared)) return INVALID_VALUE;
    Function* fn = (Function*)f;
    std::function<void()> run = [&] { (*fn->run)(params); };
    body = &run;
    blockDim = dim3{bx, 1, 1};
    gridDim = dim3{gx, gy, gz};
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++) {
                blockIdx = dim3{x, y, z};
                poison_shared(shared);
                if (!run_block(bx, fn->name.c_str())) {
                    body = nullptr;
                    return LAUNCH_FAILED;
                }
            }
    body = nullptr;
    return SUCCESS;
}

typedef struct {
    std::chrono::steady_clock::time_point t;
} Event;
CUresult cuEventCreate(void** e, unsigned) {
    *e = new Event();
    return SUCCESS;
}
CUresult cuEventRecord(void* e, void*) {
    ((Event*)e)->t = std::chrono::steady_clock::now();
    return SUCCESS;
}
CUresult cuEventSynchronize(void*) { return SUCCESS; }
CUresult cuEventElapsedTime(float* ms, void* a, void* b) {
    *ms = std::chrono::duration<float, std::milli>(((Event*)b)->t - ((Event*)a)->t).count();
    return SUCCESS;
}
CUresult cuEventDestroy_v2(void* e) {
    delete (Event*)e;
    return SUCCESS;
}
CUresult cuGetErrorName(CUresult r, const char** s) {
    *s = r == LAUNCH_FAILED ? "CUDA_ERROR_LAUNCH_FAILED (emulator: a divergent __syncthreads, see stderr)"
         : r == INVALID_PTX ? "CUDA_ERROR_INVALID_PTX" : "CUDA_ERROR (emulator)";
    return SUCCESS;
}
CUresult cuGetErrorString(CUresult, const char** s) {
    *s = "error (emulator)";
    return SUCCESS;
}
}
