// mma.h for the CPU emulator (cuda_emu.h): WMMA fragments as whole tiles. On a GPU a fragment is spread over the 32
// threads of a warp, which call each function together; here every thread (fiber) holds the whole tile and does the
// whole operation, so each thread computes what the warp would and the results are the same. Enough for gemm.cu's
// TF32 kernel: m16n16k8, tf32 operands (rounded by __float_to_tf32), float accumulators, row-major loads.
#pragma once
#include <cstring>
#include <type_traits>

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
    static constexpr int rows = std::is_same_v<Use, matrix_b> ? K : M;
    static constexpr int cols = std::is_same_v<Use, matrix_a> ? K : N;
    static constexpr int num_elements = rows * cols;
    float x[rows * cols];
};

// cvt.rna.tf32.f32: keep 10 mantissa bits, round to nearest, ties away from zero
inline float __float_to_tf32(float f) {
    unsigned u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
    std::memcpy(&f, &u, 4);
    return f;
}

template <typename Use, int M, int N, int K, typename T, typename L>
void fill_fragment(fragment<Use, M, N, K, T, L>& f, float v) {
    for (int i = 0; i < f.num_elements; i++) f.x[i] = v;
}

template <typename Use, int M, int N, int K, typename T, typename L>
void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const float* p, unsigned ldm) {
    static_assert(std::is_same_v<L, row_major>, "the emulator loads row-major fragments only");
    for (int r = 0; r < f.rows; r++)
        for (int c = 0; c < f.cols; c++) f.x[r * f.cols + c] = p[r * ldm + c];
}

template <int M, int N, int K, typename T, typename LA, typename LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, T, LA>& a,
              const fragment<matrix_b, M, N, K, T, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    float out[M * N];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = c.x[i * N + j];
            for (int k = 0; k < K; k++) acc += a.x[i * K + k] * b.x[k * N + j];
            out[i * N + j] = acc;
        }
    std::memcpy(d.x, out, sizeof(out));
}

template <int M, int N, int K>
void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t layout) {
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) {
            if (layout == mem_row_major) p[r * ldm + c] = f.x[r * N + c];
            else p[c * ldm + r] = f.x[r * N + c];
        }
}
}  // namespace wmma
}  // namespace nvcuda
