package optlab.kernels.cuda;

import optlab.kernels.Buffer;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.Strides;

/**
 * Convolution by im2col + GEMM on the GPU (conv.cu holds the data movement and its layout; the GEMMs
 * are whatever variant the registry picked for {@code gemm}). Images are processed in chunks whose
 * column matrix fits a workspace of {@code -Doptlab.cuda.convWorkspaceMiB} (default 1024) MiB; workspaces
 * come from the caching allocator and go back to it at the end of the call (NOTE
 * [stream-ordered-reuse]: no synchronization needed).
 *
 * <p>Shapes: x is (n, c, h, w), w is (k, c, r, s), y is (n, k, p, q); crs = c*r*s, pq = p*q.
 * A 1x1 convolution with stride 1 and no padding needs no im2col: each image already is its
 * (c, pq) column matrix.
 */
final class CudaConv {
    private static final long WORKSPACE_BYTES = Long.getLong("optlab.cuda.convWorkspaceMiB", 1024L) << 20;

    private final CudaBackend be;

    CudaConv(CudaBackend be) {
        this.be = be;
    }

    /** Conv2dGeometry as the struct ConvGeom of conv.cu. */
    static int[] geometry(Conv2dGeometry g) {
        return new int[] {g.n(), g.c(), g.h(), g.w(), g.k(), g.r(), g.s(), g.strideH(), g.strideW(), g.padH(), g.padW(), g.p(), g.q()};
    }

    private static boolean pointwise(Conv2dGeometry g) {
        return g.r() == 1 && g.s() == 1 && g.strideH() == 1 && g.strideW() == 1 && g.padH() == 0 && g.padW() == 0;
    }

    /** Images per chunk, so that {@code floatsPerImage} floats per image fit the workspace. */
    private static int chunk(int n, long floatsPerImage) {
        return (int) Math.max(1, Math.min(n, WORKSPACE_BYTES / 4 / Math.max(1, floatsPerImage)));
    }

    private Buffer workspace(long floats) {
        if (floats > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("conv2d: a workspace of " + floats + " floats exceeds one buffer's 2^31-1 elements");
        }
        return be.allocate(DType.FLOAT32, (int) floats);
    }

    private long addr(Buffer b) {
        return be.addr(b.ptr());
    }

    private void im2col(Conv2dGeometry g, int nb, long x, long col) {
        long total = (long) g.c() * g.r() * g.s() * nb * g.p() * g.q();
        be.launch1d("conv", "im2col_f32", total, new KernelArgs().struct(geometry(g)).i(nb).p(x).p(col));
    }

    // y_img (k, pq) = W (k, crs) x col_img (crs, pq)
    void forward(Conv2dGeometry g, long x, long w, long y) {
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q(), chw = g.c() * g.h() * g.w();
        if (pointwise(g)) {
            be.sgemm(false, false, g.k(), pq, g.c(), 1f, w, g.c(), 0, x, pq, (long) g.c() * pq, 0f, y, pq, (long) g.k() * pq, g.n());
            return;
        }
        int nb = chunk(g.n(), (long) crs * pq);
        try (Buffer col = workspace((long) crs * nb * pq)) {
            for (int n0 = 0; n0 < g.n(); n0 += nb) {
                int cur = Math.min(nb, g.n() - n0);
                im2col(g, cur, x + 4L * n0 * chw, addr(col));
                be.sgemm(false, false, g.k(), pq, crs, 1f, w, crs, 0, addr(col), cur * pq, pq, 0f,
                        y + 4L * n0 * g.k() * pq, pq, (long) g.k() * pq, cur);
            }
        }
    }

    // dcol_img (crs, pq) = W^T (crs, k) x dy_img (k, pq); dx = col2im(dcol)
    void backwardData(Conv2dGeometry g, long dy, long w, long dx) {
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q(), chw = g.c() * g.h() * g.w();
        if (pointwise(g)) {
            be.sgemm(true, false, g.c(), pq, g.k(), 1f, w, g.c(), 0, dy, pq, (long) g.k() * pq, 0f, dx, pq, (long) g.c() * pq, g.n());
            return;
        }
        int nb = chunk(g.n(), (long) crs * pq);
        try (Buffer dcol = workspace((long) crs * nb * pq)) {
            for (int n0 = 0; n0 < g.n(); n0 += nb) {
                int cur = Math.min(nb, g.n() - n0);
                be.sgemm(true, false, crs, pq, g.k(), 1f, w, crs, 0, dy + 4L * n0 * g.k() * pq, pq, (long) g.k() * pq, 0f,
                        addr(dcol), cur * pq, pq, cur);
                long total = (long) cur * chw;
                be.launch1d("conv", "col2im_f32", total, new KernelArgs().struct(geometry(g)).i(cur).p(addr(dcol)).p(dx + 4L * n0 * chw));
            }
        }
    }

    // dW (k, crs) = sum over images of dy_img (k, pq) x col_img^T (pq, crs), as one long-K GEMM per chunk:
    // dyT (k, cur*pq) x col^T, split along K into slices whose partial products sum_slices adds up.
    void backwardFilter(Conv2dGeometry g, long x, long dy, long dw) {
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q(), chw = g.c() * g.h() * g.w(), k = g.k();
        int nb = chunk(g.n(), (long) (crs + k) * pq);
        int bigK = nb * pq;
        // slices: enough output tiles for the GPU (2 blocks per SM of 64x64 tiles), each slice >= 256 long
        int tiles = CudaBackend.ceil(k, 64) * CudaBackend.ceil(crs, 64);
        int slices = Math.max(1, Math.min(CudaBackend.ceil(2L * be.dev.info.multiprocessors(), tiles), Math.max(1, bigK / 256)));
        try (Buffer col = workspace((long) crs * bigK); Buffer dyT = workspace((long) k * bigK);
             Buffer ws = workspace((long) slices * k * crs)) {
            for (int n0 = 0; n0 < g.n(); n0 += nb) {
                int cur = Math.min(nb, g.n() - n0), kk = cur * pq;
                im2col(g, cur, x + 4L * n0 * chw, addr(col));
                // dyT (k, cur, pq) <- dy[n0 : n0+cur] (cur, k, pq)
                int[][] c = Strides.coalesce(new int[] {k, cur, pq}, new int[] {cur * pq, pq, 1}, new int[] {pq, k * pq, 1});
                be.launch1d("elementwise", "copy_f32_f32", (long) k * kk, new KernelArgs().i(k * kk).p(addr(dyT))
                        .p(dy + 4L * n0 * k * pq).struct(CudaBackend.strided("conv2dBackwardFilter", c)));
                int len = CudaBackend.ceil(kk, Math.min(slices, kk)), full = kk / len, rest = kk - full * len;
                int used = full + (rest > 0 ? 1 : 0);
                if (full > 0) {
                    be.sgemm(false, true, k, crs, len, 1f, addr(dyT), kk, len, addr(col), kk, len, 0f, addr(ws), crs, (long) k * crs, full);
                }
                if (rest > 0) {
                    be.sgemm(false, true, k, crs, rest, 1f, addr(dyT) + 4L * full * len, kk, 0, addr(col) + 4L * full * len, kk, 0, 0f,
                            addr(ws) + 4L * full * k * crs, crs, 0, 1);
                }
                be.launch1d("conv", "sum_slices_f32", (long) k * crs, new KernelArgs().i(used).i(k * crs).p(addr(ws)).p(dw)
                        .i(n0 > 0 ? 1 : 0));
            }
        }
    }
}
