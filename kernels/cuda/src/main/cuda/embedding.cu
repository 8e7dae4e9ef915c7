// embedding.cu: embedding lookup and its (accumulating) backward.
//
// Math (reference: RefEmbedding; contract: Backend#embeddingForward / #embeddingBackward):
//   indices (int32) is (n), table is (vocab, dim), out/dOut are (n, dim)
//   forward:  out[i, :] = table[indices[i], :]
//   backward: dTable[indices[i], :] += dOut[i, :]   for every i (ACCUMULATES into dTable)
// Index checks: forward records an index outside [0, vocab) in *badFlag with atomicMin(position) (the host resets
// the flag before and reads it after the launch, then throws naming the index and its position) and writes NaN for
// that row. Backward's indices are checked on the host, which reads them anyway to group them (below).
//
// Kernels and launch constraints (one thread per element, grid-stride: any grid and block size):
//   embedding_fwd_f32         one thread per (i, j) of out
//   embedding_bwd_grouped_f32 one thread per (g, j): row rows[g] of dTable gets the dOut rows order[starts[g]] ..
//                             order[starts[g+1]-1] added. The host (CudaBackend#embeddingBackward) groups the
//                             positions by index with a stable sort, so each group lists its positions in increasing
//                             i, and each row is summed by one thread in that order, in double, then rounded once:
//                             exactly the CPU backend's arithmetic (RefEmbedding in double, narrowed), so the result is
//                             deterministic and bitwise the CPU's. (An atomicAdd scatter would add repeated indices in
//                             a different order each run.) Reads of dOut are coalesced along j.
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

extern "C" __global__ void embedding_bwd_grouped_f32(int groups, int dim, const int* order, const int* rows,
                                                     const int* starts, const float* dOut, float* dTable) {
    const long long total = (long long)groups * dim;
    GRID_STRIDE(e, total) {
        const int g = (int)(e / dim), j = (int)(e % dim);
        float* dst = dTable + (long long)rows[g] * dim + j;
        double acc = *dst;
        for (int k = starts[g]; k < starts[g + 1]; k++) acc += (double)dOut[(long long)order[k] * dim + j];
        *dst = (float)acc;
    }
}
