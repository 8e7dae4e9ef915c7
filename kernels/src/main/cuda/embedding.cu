// embedding.cu: embedding lookup and its (accumulating) backward.
//
// Math (reference: RefEmbedding; contract: Backend#embeddingForward / #embeddingBackward):
//   indices (int32) is (n), table is (vocab, dim), out/dOut are (n, dim)
//   forward:  out[i, :] = table[indices[i], :]
//   backward: dTable[indices[i], :] += dOut[i, :]   for every i (ACCUMULATES into dTable)
// Index check: an index outside [0, vocab) is recorded in *badFlag with atomicMin(position) (the host resets
// the flag before and reads it after the launch, then throws naming the index and its position); forward
// writes NaN for that row, backward skips it.
//
// Kernels and launch constraints (one thread per (i, j) element, grid-stride: any grid and block size):
//   embedding_fwd_f32
//   embedding_bwd_f32   atomicAdd into dTable: when indices repeat, the order of the float additions is not
//                       fixed, so results can differ run to run in the last bits (exact when indices are
//                       distinct). A deterministic segmented variant (sort by index, then sum runs) is a TODO.
#include "common.cuh"

extern "C" __global__ void embedding_fwd_f32(int n, int dim, int vocab, const int* indices, const float* table,
                                             float* out, int* badFlag) {
    const long long total = (long long)n * dim;
    GRID_STRIDE(e, total) {
        const int i = (int)(e / dim), j = (int)(e % dim);
        const int row = indices[i];
        if (row < 0 || row >= vocab) {
            if (j == 0) report_bad_index(badFlag, i);
            out[e] = __int_as_float(0x7fc00000);
            continue;
        }
        out[e] = table[(long long)row * dim + j];
    }
}

extern "C" __global__ void embedding_bwd_f32(int n, int dim, int vocab, const int* indices, const float* dOut,
                                             float* dTable, int* badFlag) {
    const long long total = (long long)n * dim;
    GRID_STRIDE(e, total) {
        const int i = (int)(e / dim), j = (int)(e % dim);
        const int row = indices[i];
        if (row < 0 || row >= vocab) {
            if (j == 0) report_bad_index(badFlag, i);
            continue;
        }
        atomicAdd(&dTable[(long long)row * dim + j], dOut[e]);
    }
}
