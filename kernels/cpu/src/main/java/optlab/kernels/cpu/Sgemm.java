package optlab.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM for the CPU backend, row-major:
 * {@code C = alpha * op(A) * op(B) + beta * C}, C (m, n) with leading dimension ldc starting at {@code c[co]},
 * op(A) (m, k), op(B) (k, n); A[i][p] is {@code a[ao + i*lda + p]}, or {@code a[ao + p*lda + i]} when transA;
 * B[p][j] is {@code b[bo + p*ldb + j]}, or {@code b[bo + j*ldb + p]} when transB. beta = 0 ignores C's old
 * contents (even NaN); k = 0 (or alpha = 0) leaves {@code C = beta * C} without reading A or B. Only the
 * (m, n) block of C is written, and only the elements of op(A) and op(B) are read. Runs on {@link Parallel}'s
 * pool (serially when called inside a parallel region). Reference: {@link optlab.kernels.reference.RefGemm}.
 *
 * <h2>Algorithm (Goto / BLIS)</h2>
 * <pre>
 * for jc in [0, n) step NC                        columns of C (and of op(B))
 *   for pc in [0, k) step KC                      depth: one packed block of k
 *     pack op(B)[pc:pc+kc, jc:jc+nc]  -> B~: NR-wide panels, each kc x NR, row p contiguous
 *     for ic in [0, m) step MC                    rows of C (and of op(A))
 *       pack op(A)[ic:ic+mc, pc:pc+kc] -> A~: MR-tall panels, each kc x MR, column p contiguous
 *       for ir in [0, mc) step MR                 one A~ panel (MR x kc: 12 KiB, stays in L1)
 *         for jr in [0, nc) step NR               B~ panels stream past it (from L2)
 *           tile  = A~[ir] * B~[jr]               micro-kernel: kc rank-1 updates in registers
 *           C[ic+ir.., jc+jr..] = alpha * tile + beta' * C      (beta' = beta for pc = 0, else 1)
 * </pre>
 * Blocks are split evenly ({@code k = 800} runs as 4 blocks of 200, not 256 + 256 + 256 + 32).
 *
 * <h2>Micro-kernel</h2>
 * An MR x NR tile of C lives in MR * 2 vector registers (NR = two vectors of the preferred species, L
 * floats each). For each p it loads the two vectors of B~ row p, broadcasts each of the MR values of A~
 * column p, and issues 2 * MR fused multiply-adds. With AVX-512 (L = 16, 32 registers): 12 x 32, 24
 * accumulators + 2 B vectors + 1 broadcast = 27 registers, 24 FMAs per 2 vector loads and 12 broadcast loads.
 * With 16 registers or fewer (AVX2, L = 8; SSE or NEON, L = 4): 6 x 2L, 12 accumulators. Edge tiles run a
 * kernel of 8 or 4 rows (or 4 below 6) and of one vector when at most L columns remain, so a 64 x 196 C
 * computes 64 x 208, not 72 x 224. Each kernel is a separate method, unrolled by hand: the JIT keeps its
 * accumulators in registers only when no vector crosses a call, so the kernel writes its tile to a
 * per-thread MR x NR scratch and {@code store} applies alpha and beta to C from there (masked at the
 * right edge; the rows of a short last panel are computed and dropped).
 *
 * <h2>Packing</h2>
 * Packing absorbs the transposes and the leading dimensions, so one kernel serves all four cases.
 * A~ panel at row ir lies at {@code ir * kc}, element [i][p] at {@code ir * kc + p * h + i} with h = MR (or
 * the edge kernel's height); B~ panel at column jr lies at {@code jr * kc}, element [p][j] at
 * {@code jr * kc + p * w + j} with w = NR (or L for a last panel of at most L columns). Rows of op(B) and,
 * with transA, columns of op(A) are contiguous in memory: vector copies. The other two cases are
 * transposes, done 16 x 16 at a time in registers when L = 16 (four perfect-shuffle rounds of two-table
 * {@code selectFrom}), element by element otherwise and for the last kc % 16 values. Padding (rows past m,
 * columns past n) holds zeros or copies of the last row or column: it only feeds tile entries that are
 * never stored.
 *
 * <h2>Sizes, threads, memory</h2>
 * KC = 256, MC = 144, NC = 2048 (on AVX-512): A~ (MC x KC, 144 KiB) and one B~ panel (KC x NR, 32 KiB) per
 * step fit the 1 MiB L2 of a Zen 4 core, B~ (KC x NC, 2 MiB) sits in L3. Each thread keeps its own packing
 * buffers ({@code MC*KC + KC*NC} floats, 2.1 MiB, allocated on its first call and reused), so steady-state
 * calls allocate nothing but a lambda. Problems of at most 512 multiply-adds skip packing (a plain triple
 * loop). From outside a parallel region, a problem of at least 8 Mflop is split between the threads into
 * contiguous ranges of NR-wide column panels (when n >= m) or MR-tall row panels (otherwise), at least 4 Mflop
 * each; every thread packs what its range needs. The split never changes the arithmetic: each element of C
 * sums its k products in the same order (fma, ascending p, one partial sum per KC block added to C in
 * block order) whatever the thread count, so results are identical bit for bit, threaded or not.
 * C must not overlap A or B.
 *
 * <h2>Packed A, implicit B (for the convolutions)</h2>
 * {@link #packWholeA} packs all of op(A) once, every depth block, and {@link #gemmPackedA} multiplies it by a
 * B that need not exist in memory: a {@link PanelPacker} callback fills one NR-wide, KC-deep B~ panel at a
 * time (an im2col matrix gathered straight from the image, in {@link CpuConv}). The loop is
 * {@code for jc step NR: for pc step KC: pack B~ panel; for ir step MR: kernel}, so the panel is read from L1
 * by every A~ panel and the m x NR strip of C stays in L1 across the depth blocks; it suits the small m (16 to
 * 64 filters) of the convolutions, where the classic loop would pack A again for every image.
 * {@link #gemmPackedARows} skips even that panel for stride-1 convolutions: its micro-kernels (k12x2r, k8x2r,
 * k4x2r) read B's rows in place in the padded image through a table of row offsets.
 */
public final class Sgemm {
    private Sgemm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector of the preferred species (16 with AVX-512, 8 with AVX2, 4 with SSE or NEON). */
    private static final int L = S.length();
    /** Micro-tile width: two vectors. */
    public static final int NR = 2 * L;
    /** Micro-tile height: 12 rows (24 accumulators) with 32 vector registers, 6 rows (12) with 16 or fewer. */
    public static final int MR = L >= 16 ? 12 : 6;
    /** Depth of one packed block (the k extent of a micro-kernel call). */
    public static final int KC = 256;
    /** Rows of op(A) packed at a time (a multiple of MR). */
    public static final int MC = 144;
    /** Columns of op(B) packed at a time (a multiple of NR). */
    public static final int NC = 2048;
    /** m*n*k at or below which the unpacked loop runs. */
    private static final long TINY = 512;
    /** Least work (flops) worth a thread of its own. */
    private static final double MIN_FLOPS_PER_THREAD = 4e6;
    /** Packing transposes 16 x 16 blocks in registers when vectors hold 16 floats; element by element otherwise. */
    private static final boolean TRANSPOSE16 = L == 16;

    private static final FloatVector ZERO = FloatVector.zero(S);

    /** Per-thread packing buffers, allocated once at the largest block size. */
    private static final class Scratch {
        final float[] a = new float[MC * KC + 16]; // + 16: packA's transposed stores run up to 15 floats past a panel
        final float[] b = new float[KC * NC];
        final float[] tile = new float[MR * NR];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C}, row-major; see the class comment for the indexing.
     * beta = 0 ignores C's old contents; k = 0 (or alpha = 0) leaves {@code C = beta * C}.
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int ao, int lda, float[] b, int bo, int ldb,
                             float beta, float[] c, int co, int ldc) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("sgemm: negative size m=" + m + " n=" + n + " k=" + k);
        }
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0) {
            scale(m, n, beta, c, co, ldc);
            return;
        }
        if ((long) m * n * k <= TINY) {
            direct(transA, transB, m, n, k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc);
            return;
        }
        double flops = 2.0 * m * n * k;
        if (Parallel.threads() == 1 || flops < 2 * MIN_FLOPS_PER_THREAD) {
            blocked(transA, transB, 0, m, 0, n, k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc);
        } else if (n >= m) {
            int panels = (n + NR - 1) / NR;
            int grain = (int) Math.max(1, Math.ceil(MIN_FLOPS_PER_THREAD / (2.0 * m * k * NR)));
            Parallel.forRange(panels, grain, (p0, p1) -> blocked(transA, transB, 0, m, p0 * NR, Math.min(n, p1 * NR),
                    k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc));
        } else {
            int panels = (m + MR - 1) / MR;
            int grain = (int) Math.max(1, Math.ceil(MIN_FLOPS_PER_THREAD / (2.0 * n * k * MR)));
            Parallel.forRange(panels, grain, (p0, p1) -> blocked(transA, transB, p0 * MR, Math.min(m, p1 * MR), 0, n,
                    k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc));
        }
    }

    /** C = beta * C (beta = 0 writes zeros whatever C held). */
    private static void scale(int m, int n, float beta, float[] c, int co, int ldc) {
        for (int i = 0; i < m; i++) {
            int r = co + i * ldc;
            if (beta == 0) {
                java.util.Arrays.fill(c, r, r + n, 0f);
            } else if (beta != 1) {
                for (int j = 0; j < n; j++) c[r + j] *= beta;
            }
        }
    }

    /** The unpacked triple loop for tiny problems, where packing would cost more than it saves. */
    private static void direct(boolean transA, boolean transB, int m, int n, int k, float alpha,
                               float[] a, int ao, int lda, float[] b, int bo, int ldb,
                               float beta, float[] c, int co, int ldc) {
        int ai = transA ? 1 : lda, ap = transA ? lda : 1;
        int bp = transB ? 1 : ldb, bj = transB ? ldb : 1;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float acc = 0;
                int x = ao + i * ai, y = bo + j * bj;
                for (int p = 0; p < k; p++, x += ap, y += bp) acc = Math.fma(a[x], b[y], acc);
                int ci = co + i * ldc + j;
                c[ci] = beta == 0 ? alpha * acc : alpha * acc + beta * c[ci];
            }
        }
    }

    /** Even split of {@code total} into blocks of at most {@code max}, rounded up to a multiple of {@code unit}. */
    private static int blockSize(int total, int max, int unit) {
        int blocks = (total + max - 1) / max;
        int size = (total + blocks - 1) / blocks;
        return Math.min(max, (size + unit - 1) / unit * unit);
    }

    /** Rows [m0, m1) and columns [n0, n1) of C, on the calling thread. */
    private static void blocked(boolean transA, boolean transB, int m0, int m1, int n0, int n1, int k, float alpha,
                                float[] a, int ao, int lda, float[] b, int bo, int ldb,
                                float beta, float[] c, int co, int ldc) {
        Scratch s = SCRATCH.get();
        float[] ap = s.a, bp = s.b, t = s.tile;
        int kb = blockSize(k, KC, 1), nb = blockSize(n1 - n0, NC, NR), mb = blockSize(m1 - m0, MC, MR);
        for (int jc = n0; jc < n1; jc += nb) {
            int nc = Math.min(nb, n1 - jc);
            for (int pc = 0; pc < k; pc += kb) {
                int kc = Math.min(kb, k - pc);
                float bet = pc == 0 ? beta : 1f;
                packB(transB, b, bo, ldb, pc, kc, jc, nc, bp);
                rowsTimesPackedB(transA, a, ao, lda, m0, m1, mb, pc, kc, ap, bp, 0, jc, nc, alpha, bet, c, co, ldc, t);
            }
        }
    }

    /**
     * C[m0..m1)[jc..jc+nc) = alpha * op(A)[m0..m1)[pc..pc+kc) * B~ + bet * C, B~ the packed (kc x nc) block at
     * {@code bp[bOff..]}: op(A) packed MC rows at a time into ap, then one micro-kernel call per MR x NR tile.
     */
    private static void rowsTimesPackedB(boolean transA, float[] a, int ao, int lda, int m0, int m1, int mb, int pc,
                                         int kc, float[] ap, float[] bp, int bOff, int jc, int nc, float alpha,
                                         float bet, float[] c, int co, int ldc, float[] t) {
        for (int ic = m0; ic < m1; ic += mb) {
            int mc = Math.min(mb, m1 - ic);
            packA(transA, a, ao, lda, ic, mc, pc, kc, ap, 0);
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir), hr = rowsFor(mr);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = Math.min(NR, nc - jr);
                    kernel(hr, nr > L, kc, ap, ir * kc, bp, bOff + jr * kc, nr > L ? NR : L, t);
                    store(t, c, co + (ic + ir) * ldc + jc + jr, ldc, mr, nr, alpha, bet);
                }
            }
        }
    }

    // ---- Packed A, implicit B: the entry point of the convolutions ({@link CpuConv}) ----

    /**
     * Packs one KC-wide column block of an op(B) that exists only implicitly (a convolution's im2col matrix):
     * rows [pc, pc + kc) and columns [jc, jc + nc), nc <= NR, into one B~ panel at {@code dst[0..]} in
     * {@link #packB}'s layout (element [p][j] at {@code (p - pc) * w + (j - jc)}, w = NR, or L when nc <= L).
     * Columns past nc may hold anything finite: they only feed tile entries that are never stored.
     */
    @FunctionalInterface
    interface PanelPacker {
        void pack(int pc, int kc, int jc, int nc, float[] dst);
    }

    /** Floats that {@link #packWholeA} needs for an m x k op(A). */
    static int packedASize(int m, int k) {
        return (m + MR - 1) / MR * MR * k + 16; // + 16: packA's transposed stores run past the last panel
    }

    /**
     * Packs all of op(A) (m x k) once, to be multiplied by many B's ({@link #gemmPackedA}): the depth block at
     * pc (blocks as in {@link #sgemm}) lies at {@code pc * mPad}, mPad = m rounded up to MR, in packA's layout
     * of all m rows.
     */
    static void packWholeA(boolean transA, float[] a, int ao, int lda, int m, int k, float[] dst) {
        int kb = blockSize(k, KC, 1), mPad = (m + MR - 1) / MR * MR;
        for (int pc = 0; pc < k; pc += kb) packA(transA, a, ao, lda, 0, m, pc, Math.min(kb, k - pc), dst, pc * mPad);
    }

    /**
     * Columns [n0, n1) of {@code C = A * B + beta * C} on the calling thread, A (m x k) packed by {@link #packWholeA},
     * B (k x n) packed one NR-wide KC-deep panel at a time by {@code packB}. For each panel every A~ panel runs
     * the micro-kernel against it while it sits in L1, and the m x NR strip of C stays in L1 across the depth
     * blocks. Each element of C gets the same arithmetic as in {@link #sgemm} (fma in ascending p, one partial
     * per KC block added in block order), so the split of columns between threads never changes the bits.
     */
    static void gemmPackedA(float[] ap, int m, int k, int n0, int n1, PanelPacker packB, float beta,
                            float[] c, int co, int ldc) {
        Scratch s = SCRATCH.get();
        float[] bp = s.b, t = s.tile;
        int kb = blockSize(k, KC, 1), mPad = (m + MR - 1) / MR * MR;
        for (int jc = n0; jc < n1; jc += NR) {
            int nr = Math.min(NR, n1 - jc);
            boolean two = nr > L;
            for (int pc = 0; pc < k; pc += kb) {
                int kc = Math.min(kb, k - pc);
                packB.pack(pc, kc, jc, nr, bp);
                float bet = pc == 0 ? beta : 1f;
                for (int ir = 0; ir < m; ir += MR) {
                    int mr = Math.min(MR, m - ir);
                    kernel(rowsFor(mr), two, kc, ap, pc * mPad + ir * kc, bp, 0, two ? NR : L, t);
                    store(t, c, co + ir * ldc + jc, ldc, mr, nr, 1f, bet);
                }
            }
        }
    }

    /** Whether {@link #gemmPackedARows} runs here: its micro-kernels exist for the 12-row tiles of AVX-512 only. */
    static final boolean ROWS_IN_PLACE = MR == 12;

    /**
     * Columns [n0, n1) (multiples of NR apart from n1) of {@code C = A * B + beta * C} like {@link #gemmPackedA},
     * with B read in place: B[p][j] = {@code b[bo + rowOff[p] + j]}. That is a stride-1 convolution's im2col matrix
     * with its columns counted over the padded width wp (column j = output row j / wp, column j % wp), each row a
     * contiguous run of the padded image: no panel is gathered. Column j of the product goes to C column
     * {@code (j / wp) * q + j % wp} when {@code j % wp < q}; the others (past an output row) are dropped. b must
     * hold NR floats past {@code bo + rowOff[p] + n1} for every p (they feed dropped columns only). Each stored
     * element gets the arithmetic of {@link #gemmPackedA}, to the bit. Needs {@link #ROWS_IN_PLACE}.
     */
    static void gemmPackedARows(float[] ap, int m, int k, int n0, int n1, float[] b, int bo, int[] rowOff, int wp, int q,
                                float beta, float[] c, int co, int ldc) {
        float[] t = SCRATCH.get().tile;
        int kb = blockSize(k, KC, 1), mPad = (m + MR - 1) / MR * MR;
        for (int jc = n0; jc < n1; jc += NR) {
            int nr = Math.min(NR, n1 - jc);
            for (int pc = 0; pc < k; pc += kb) {
                int kc = Math.min(kb, k - pc);
                float bet = pc == 0 ? beta : 1f;
                for (int ir = 0; ir < m; ir += MR) {
                    int mr = Math.min(MR, m - ir), ao = pc * mPad + ir * kc;
                    switch (rowsFor(mr)) {
                        case 12 -> k12x2r(kc, ap, ao, b, bo + jc, rowOff, pc, t);
                        case 8 -> k8x2r(kc, ap, ao, b, bo + jc, rowOff, pc, t);
                        default -> k4x2r(kc, ap, ao, b, bo + jc, rowOff, pc, t);
                    }
                    // the tile's runs of columns that lie within an output row
                    for (int j = 0; j < nr; ) {
                        int col = jc + j, oq = col % wp;
                        if (oq >= q) {
                            j += wp - oq;
                            continue;
                        }
                        int run = Math.min(q - oq, nr - j);
                        store(t, j, c, co + ir * ldc + col / wp * q + oq, ldc, mr, run, 1f, bet);
                        j += run;
                    }
                }
            }
        }
    }

    /** Rows of the micro-kernel that covers an edge of {@code h <= MR} rows. */
    private static int rowsFor(int h) {
        if (MR == 12) return h > 8 ? 12 : h > 4 ? 8 : 4;
        return h > 4 ? 6 : 4;
    }

    /** Runs the micro-kernel for a {@code rows} x (two or one vectors) tile into {@code t} (row stride NR). */
    private static void kernel(int rows, boolean two, int kc, float[] ap, int ao, float[] bp, int bo, int bs, float[] t) {
        if (two) {
            switch (rows) {
                case 12 -> k12x2(kc, ap, ao, bp, bo, bs, t);
                case 8 -> k8x2(kc, ap, ao, bp, bo, bs, t);
                case 6 -> k6x2(kc, ap, ao, bp, bo, bs, t);
                default -> k4x2(kc, ap, ao, bp, bo, bs, t);
            }
        } else {
            switch (rows) {
                case 12 -> k12x1(kc, ap, ao, bp, bo, bs, t);
                case 8 -> k8x1(kc, ap, ao, bp, bo, bs, t);
                case 6 -> k6x1(kc, ap, ao, bp, bo, bs, t);
                default -> k4x1(kc, ap, ao, bp, bo, bs, t);
            }
        }
    }

    /** C[0..mr, 0..nr) = alpha * t + beta * C (beta = 0: alpha * t, C not read). */
    private static void store(float[] t, float[] c, int ci, int ldc, int mr, int nr, float alpha, float beta) {
        store(t, 0, c, ci, ldc, mr, nr, alpha, beta);
    }

    /** C[0..mr, 0..nr) = alpha * t[.., tc..] + beta * C: the tile's columns from tc on. */
    private static void store(float[] t, int tc, float[] c, int ci, int ldc, int mr, int nr, float alpha, float beta) {
        FloatVector va = FloatVector.broadcast(S, alpha), vb = FloatVector.broadcast(S, beta);
        int full = nr & -L;
        for (int i = 0; i < mr; i++) {
            int r = ci + i * ldc, tr = i * NR + tc;
            if (beta == 0) {
                for (int j = 0; j < full; j += L) FloatVector.fromArray(S, t, tr + j).mul(va).intoArray(c, r + j);
            } else {
                for (int j = 0; j < full; j += L) {
                    FloatVector.fromArray(S, c, r + j).fma(vb, FloatVector.fromArray(S, t, tr + j).mul(va)).intoArray(c, r + j);
                }
            }
            for (int j = full; j < nr; j++) c[r + j] = beta == 0 ? alpha * t[tr + j] : Math.fma(c[r + j], beta, alpha * t[tr + j]);
        }
    }

    /**
     * Packs op(B)[pc.., jc..] (kc x nc) into panels of NR columns: the panel starting at column jr lies at
     * {@code jr * kc}, element [p][j] at {@code jr * kc + p * w + j} with w = NR, or w = L for a last panel of at
     * most L columns; columns past nc are zero.
     */
    static void packB(boolean transB, float[] b, int bo, int ldb, int pc, int kc, int jc, int nc, float[] dst) {
        for (int jr = 0; jr < nc; jr += NR) {
            int w = Math.min(NR, nc - jr), wr = w > L ? NR : L, d = jr * kc;
            if (!transB) {
                // B[p][j] = b[bo + p*ldb + j]: each row of the panel is a contiguous (masked) copy.
                int src = bo + pc * ldb + jc + jr;
                if (w == wr) {
                    for (int p = 0; p < kc; p++, src += ldb, d += wr) {
                        for (int v = 0; v < wr; v += L) FloatVector.fromArray(S, b, src + v).intoArray(dst, d + v);
                    }
                } else {
                    for (int p = 0; p < kc; p++, src += ldb, d += wr) {
                        for (int j = 0; j < w; j++) dst[d + j] = b[src + j];
                        for (int j = w; j < wr; j++) dst[d + j] = 0f;
                    }
                }
            } else {
                // B[p][j] = b[bo + j*ldb + p]: a transpose; row j of op(B)^T is contiguous in p.
                int src = bo + (jc + jr) * ldb + pc;
                int p = 0;
                if (TRANSPOSE16) {
                    for (; p + 16 <= kc; p += 16) {
                        for (int h = 0; h < wr; h += 16) {
                            transpose16(b, src + h * ldb + p, ldb, Math.max(0, Math.min(16, w - h)), dst, d + p * wr + h, wr);
                        }
                    }
                }
                for (int j = 0; j < wr; j++) {
                    if (j < w) {
                        int sj = src + j * ldb;
                        for (int q = p; q < kc; q++) dst[d + q * wr + j] = b[sj + q];
                    } else {
                        for (int q = p; q < kc; q++) dst[d + q * wr + j] = 0f;
                    }
                }
            }
        }
    }

    /**
     * Packs op(A)[ic.., pc..] (mc x kc) into panels of MR rows: the panel starting at row ir lies at
     * {@code dOff + ir * kc}, element [i][p] at {@code dOff + ir * kc + p * h + i} with h = MR, or for the last
     * panel the micro-kernel height {@link #rowsFor} of its rows; rows past mc are zero.
     */
    static void packA(boolean transA, float[] a, int ao, int lda, int ic, int mc, int pc, int kc, float[] dst, int dOff) {
        for (int ir = 0; ir < mc; ir += MR) {
            int h = Math.min(MR, mc - ir), hr = rowsFor(h), d = dOff + ir * kc;
            if (transA) {
                // A[i][p] = a[ao + p*lda + i]: row p of the source holds the panel's h values contiguously.
                int src = ao + pc * lda + ic + ir;
                VectorMask<Float> mask = S.indexInRange(0, h);
                if (hr <= L) {
                    VectorMask<Float> out = S.indexInRange(0, hr);
                    for (int p = 0; p < kc; p++, src += lda, d += hr) {
                        FloatVector.fromArray(S, a, src, mask).intoArray(dst, d, out);
                    }
                } else {
                    for (int p = 0; p < kc; p++, src += lda, d += hr) {
                        for (int i = 0; i < h; i++) dst[d + i] = a[src + i];
                        for (int i = h; i < hr; i++) dst[d + i] = 0f;
                    }
                }
            } else {
                // A[i][p] = a[ao + i*lda + p]: a transpose; row i is contiguous in p.
                int src = ao + (ic + ir) * lda + pc;
                int p = 0;
                if (TRANSPOSE16) {
                    for (; p + 16 <= kc; p += 16) transpose16(a, src + p, lda, h, dst, d + p * hr, hr);
                }
                for (int i = 0; i < hr; i++) {
                    if (i < h) {
                        int si = src + i * lda;
                        for (int q = p; q < kc; q++) dst[d + q * hr + i] = a[si + q];
                    } else {
                        for (int q = p; q < kc; q++) dst[d + q * hr + i] = 0f;
                    }
                }
            }
        }
    }

    /** Index vectors of the perfect-shuffle transpose: interleave the low (high) halves of two vectors. */
    private static final FloatVector ILO, IHI;

    static {
        float[] lo = new float[L], hi = new float[L];
        for (int q = 0; q < L; q++) {
            lo[q] = (q % 2 == 0 ? 0 : L) + q / 2;
            hi[q] = lo[q] + L / 2;
        }
        ILO = FloatVector.fromArray(S, lo, 0);
        IHI = FloatVector.fromArray(S, hi, 0);
    }

    /**
     * Transposes a 16 x 16 block (only with 16-float vectors): {@code dst[d + q*ds + r] = src[s + r*ld + q]} for
     * q < 16, r < width, where source rows r >= rows read as zero. Four rounds of
     * the perfect shuffle: round output 2i (2i+1) interleaves the low (high) halves of rows i and i+8.
     */
    private static void transpose16(float[] src, int s, int ld, int rows, float[] dst, int d, int ds) {
        FloatVector lo = ILO, hi = IHI;
        int last = rows - 1;
        FloatVector y0 = FloatVector.fromArray(S, src, s);
        FloatVector y1 = FloatVector.fromArray(S, src, s + Math.min(1, last) * ld);
        FloatVector y2 = FloatVector.fromArray(S, src, s + Math.min(2, last) * ld);
        FloatVector y3 = FloatVector.fromArray(S, src, s + Math.min(3, last) * ld);
        FloatVector y4 = FloatVector.fromArray(S, src, s + Math.min(4, last) * ld);
        FloatVector y5 = FloatVector.fromArray(S, src, s + Math.min(5, last) * ld);
        FloatVector y6 = FloatVector.fromArray(S, src, s + Math.min(6, last) * ld);
        FloatVector y7 = FloatVector.fromArray(S, src, s + Math.min(7, last) * ld);
        FloatVector y8 = FloatVector.fromArray(S, src, s + Math.min(8, last) * ld);
        FloatVector y9 = FloatVector.fromArray(S, src, s + Math.min(9, last) * ld);
        FloatVector ya = FloatVector.fromArray(S, src, s + Math.min(10, last) * ld);
        FloatVector yb = FloatVector.fromArray(S, src, s + Math.min(11, last) * ld);
        FloatVector yc = FloatVector.fromArray(S, src, s + Math.min(12, last) * ld);
        FloatVector yd = FloatVector.fromArray(S, src, s + Math.min(13, last) * ld);
        FloatVector ye = FloatVector.fromArray(S, src, s + Math.min(14, last) * ld);
        FloatVector yf = FloatVector.fromArray(S, src, s + Math.min(15, last) * ld);
        for (int round = 0; round < 4; round++) {
            FloatVector z0 = lo.selectFrom(y0, y8), z1 = hi.selectFrom(y0, y8);
            FloatVector z2 = lo.selectFrom(y1, y9), z3 = hi.selectFrom(y1, y9);
            FloatVector z4 = lo.selectFrom(y2, ya), z5 = hi.selectFrom(y2, ya);
            FloatVector z6 = lo.selectFrom(y3, yb), z7 = hi.selectFrom(y3, yb);
            FloatVector z8 = lo.selectFrom(y4, yc), z9 = hi.selectFrom(y4, yc);
            FloatVector za = lo.selectFrom(y5, yd), zb = hi.selectFrom(y5, yd);
            FloatVector zc = lo.selectFrom(y6, ye), zd = hi.selectFrom(y6, ye);
            FloatVector ze = lo.selectFrom(y7, yf), zf = hi.selectFrom(y7, yf);
            y0 = z0; y1 = z1; y2 = z2; y3 = z3; y4 = z4; y5 = z5; y6 = z6; y7 = z7;
            y8 = z8; y9 = z9; ya = za; yb = zb; yc = zc; yd = zd; ye = ze; yf = zf;
        }
        y0.intoArray(dst, d);
        y1.intoArray(dst, d + ds);
        y2.intoArray(dst, d + 2 * ds);
        y3.intoArray(dst, d + 3 * ds);
        y4.intoArray(dst, d + 4 * ds);
        y5.intoArray(dst, d + 5 * ds);
        y6.intoArray(dst, d + 6 * ds);
        y7.intoArray(dst, d + 7 * ds);
        y8.intoArray(dst, d + 8 * ds);
        y9.intoArray(dst, d + 9 * ds);
        ya.intoArray(dst, d + 10 * ds);
        yb.intoArray(dst, d + 11 * ds);
        yc.intoArray(dst, d + 12 * ds);
        yd.intoArray(dst, d + 13 * ds);
        ye.intoArray(dst, d + 14 * ds);
        yf.intoArray(dst, d + 15 * ds);
    }

    // ---- Pre-packed B: one op(B) packed once, then multiplied by many A on the calling thread ----
    //
    // The LSTM's recurrent GEMM multiplies a few rows of h by the same weights at every step of a sequence; sgemm
    // would pack those weights again at every step. packB lays out all of op(B) as blocked() would pack it, block by
    // block (the (jc, pc) blocks in blocked's order, each in a slot of kb * nb floats), and sgemmPackedB runs blocked's
    // loops over those slots: the same blocks, kernels and order of sums as sgemm's serial path for m * n * k > 512, so
    // the same bits whatever rows a call covers.

    /** Floats {@link #packB(boolean, int, int, float[], int, int, float[])} writes for a (k, n) op(B). */
    static int packedBSize(int k, int n) {
        int kb = blockSize(k, KC, 1), nb = blockSize(n, NC, NR);
        return (k + kb - 1) / kb * ((n + nb - 1) / nb) * kb * nb;
    }

    /** Packs all of op(B) (k x n, indexed as in {@link #sgemm}) into {@code dst} ({@link #packedBSize} floats). */
    static void packB(boolean transB, int k, int n, float[] b, int bo, int ldb, float[] dst) {
        float[] block = SCRATCH.get().b;
        int kb = blockSize(k, KC, 1), nb = blockSize(n, NC, NR), slot = 0;
        for (int jc = 0; jc < n; jc += nb) {
            for (int pc = 0; pc < k; pc += kb, slot += kb * nb) {
                int kc = Math.min(kb, k - pc), nc = Math.min(nb, n - jc);
                packB(transB, b, bo, ldb, pc, kc, jc, nc, block);
                System.arraycopy(block, 0, dst, slot, kc * ((nc + NR - 1) / NR * NR));
            }
        }
    }

    /**
     * {@code C = alpha * op(A) * B + beta * C} on the calling thread, B (k x n) from {@link #packB(boolean, int, int,
     * float[], int, int, float[])}; m, n, k >= 1.
     */
    static void sgemmPackedB(boolean transA, int m, int n, int k, float alpha, float[] a, int ao, int lda, float[] bp,
                             float beta, float[] c, int co, int ldc) {
        Scratch s = SCRATCH.get();
        float[] ap = s.a, t = s.tile;
        int kb = blockSize(k, KC, 1), nb = blockSize(n, NC, NR), mb = blockSize(m, MC, MR), slot = 0;
        for (int jc = 0; jc < n; jc += nb) {
            int nc = Math.min(nb, n - jc);
            for (int pc = 0; pc < k; pc += kb, slot += kb * nb) {
                int kc = Math.min(kb, k - pc);
                float bet = pc == 0 ? beta : 1f;
                rowsTimesPackedB(transA, a, ao, lda, 0, m, mb, pc, kc, ap, bp, slot, jc, nc, alpha, bet, c, co, ldc, t);
            }
        }
    }

    /** Runs the full-size micro-kernel {@code reps} times on packed panels (GemmBenchmark's in-cache ceiling). */
    public static void microKernelLoop(int reps, int kc, float[] ap, float[] bp, float[] tile) {
        for (int r = 0; r < reps; r++) kernel(MR, true, kc, ap, 0, bp, 0, NR, tile);
    }

    // ---- Micro-kernels (one per tile shape, unrolled so that the accumulators live in registers) ----

    /** 12 x NR tile: 24 accumulators; packed A stride 12, B rows NR wide, bs apart. */
    private static void k12x2(int kc, float[] ap, int ao, float[] bp, int bo, int bs, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z, c80 = z, c81 = z, c90 = z, c91 = z, c100 = z, c101 = z, c110 = z, c111 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 12, bi = bo + p * bs;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]); c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]); c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(S, ap[ai + 6]); c60 = a.fma(b0, c60); c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[ai + 7]); c70 = a.fma(b0, c70); c71 = a.fma(b1, c71);
            a = FloatVector.broadcast(S, ap[ai + 8]); c80 = a.fma(b0, c80); c81 = a.fma(b1, c81);
            a = FloatVector.broadcast(S, ap[ai + 9]); c90 = a.fma(b0, c90); c91 = a.fma(b1, c91);
            a = FloatVector.broadcast(S, ap[ai + 10]); c100 = a.fma(b0, c100); c101 = a.fma(b1, c101);
            a = FloatVector.broadcast(S, ap[ai + 11]); c110 = a.fma(b0, c110); c111 = a.fma(b1, c111);
        }
        c00.intoArray(t, 0); c01.intoArray(t, L);
        c10.intoArray(t, NR); c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L);
        c60.intoArray(t, 6 * NR); c61.intoArray(t, 6 * NR + L);
        c70.intoArray(t, 7 * NR); c71.intoArray(t, 7 * NR + L);
        c80.intoArray(t, 8 * NR); c81.intoArray(t, 8 * NR + L);
        c90.intoArray(t, 9 * NR); c91.intoArray(t, 9 * NR + L);
        c100.intoArray(t, 10 * NR); c101.intoArray(t, 10 * NR + L);
        c110.intoArray(t, 11 * NR); c111.intoArray(t, 11 * NR + L);
    }

    /** 8 x NR tile: 16 accumulators; packed A stride 8, B rows NR wide, bs apart. */
    private static void k8x2(int kc, float[] ap, int ao, float[] bp, int bo, int bs, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 8, bi = bo + p * bs;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]); c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]); c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(S, ap[ai + 6]); c60 = a.fma(b0, c60); c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[ai + 7]); c70 = a.fma(b0, c70); c71 = a.fma(b1, c71);
        }
        c00.intoArray(t, 0); c01.intoArray(t, L);
        c10.intoArray(t, NR); c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L);
        c60.intoArray(t, 6 * NR); c61.intoArray(t, 6 * NR + L);
        c70.intoArray(t, 7 * NR); c71.intoArray(t, 7 * NR + L);
    }

    /** 6 x NR tile: 12 accumulators; packed A stride 6, B rows NR wide, bs apart. */
    private static void k6x2(int kc, float[] ap, int ao, float[] bp, int bo, int bs, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 6, bi = bo + p * bs;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]); c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]); c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
        }
        c00.intoArray(t, 0); c01.intoArray(t, L);
        c10.intoArray(t, NR); c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L);
    }

    /** 4 x NR tile: 8 accumulators; packed A stride 4, B rows NR wide, bs apart. */
    private static void k4x2(int kc, float[] ap, int ao, float[] bp, int bo, int bs, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 4, bi = bo + p * bs;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
        }
        c00.intoArray(t, 0); c01.intoArray(t, L);
        c10.intoArray(t, NR); c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
    }

    /** 12 x L tile: 12 accumulators; packed A stride 12, B rows L wide, bs apart. */
    private static void k12x1(int kc, float[] ap, int ao, float[] bp, int bo, int bs, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c10 = z, c20 = z, c30 = z, c40 = z, c50 = z, c60 = z, c70 = z, c80 = z, c90 = z, c100 = z, c110 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 12, bi = bo + p * bs;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30);
            a = FloatVector.broadcast(S, ap[ai + 4]); c40 = a.fma(b0, c40);
            a = FloatVector.broadcast(S, ap[ai + 5]); c50 = a.fma(b0, c50);
            a = FloatVector.broadcast(S, ap[ai + 6]); c60 = a.fma(b0, c60);
            a = FloatVector.broadcast(S, ap[ai + 7]); c70 = a.fma(b0, c70);
            a = FloatVector.broadcast(S, ap[ai + 8]); c80 = a.fma(b0, c80);
            a = FloatVector.broadcast(S, ap[ai + 9]); c90 = a.fma(b0, c90);
            a = FloatVector.broadcast(S, ap[ai + 10]); c100 = a.fma(b0, c100);
            a = FloatVector.broadcast(S, ap[ai + 11]); c110 = a.fma(b0, c110);
        }
        c00.intoArray(t, 0);
        c10.intoArray(t, NR);
        c20.intoArray(t, 2 * NR);
        c30.intoArray(t, 3 * NR);
        c40.intoArray(t, 4 * NR);
        c50.intoArray(t, 5 * NR);
        c60.intoArray(t, 6 * NR);
        c70.intoArray(t, 7 * NR);
        c80.intoArray(t, 8 * NR);
        c90.intoArray(t, 9 * NR);
        c100.intoArray(t, 10 * NR);
        c110.intoArray(t, 11 * NR);
    }

    /** 8 x L tile: 8 accumulators; packed A stride 8, B rows L wide, bs apart. */
    private static void k8x1(int kc, float[] ap, int ao, float[] bp, int bo, int bs, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c10 = z, c20 = z, c30 = z, c40 = z, c50 = z, c60 = z, c70 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 8, bi = bo + p * bs;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30);
            a = FloatVector.broadcast(S, ap[ai + 4]); c40 = a.fma(b0, c40);
            a = FloatVector.broadcast(S, ap[ai + 5]); c50 = a.fma(b0, c50);
            a = FloatVector.broadcast(S, ap[ai + 6]); c60 = a.fma(b0, c60);
            a = FloatVector.broadcast(S, ap[ai + 7]); c70 = a.fma(b0, c70);
        }
        c00.intoArray(t, 0);
        c10.intoArray(t, NR);
        c20.intoArray(t, 2 * NR);
        c30.intoArray(t, 3 * NR);
        c40.intoArray(t, 4 * NR);
        c50.intoArray(t, 5 * NR);
        c60.intoArray(t, 6 * NR);
        c70.intoArray(t, 7 * NR);
    }

    /** 6 x L tile: 6 accumulators; packed A stride 6, B rows L wide, bs apart. */
    private static void k6x1(int kc, float[] ap, int ao, float[] bp, int bo, int bs, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c10 = z, c20 = z, c30 = z, c40 = z, c50 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 6, bi = bo + p * bs;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30);
            a = FloatVector.broadcast(S, ap[ai + 4]); c40 = a.fma(b0, c40);
            a = FloatVector.broadcast(S, ap[ai + 5]); c50 = a.fma(b0, c50);
        }
        c00.intoArray(t, 0);
        c10.intoArray(t, NR);
        c20.intoArray(t, 2 * NR);
        c30.intoArray(t, 3 * NR);
        c40.intoArray(t, 4 * NR);
        c50.intoArray(t, 5 * NR);
    }

    /** 4 x L tile: 4 accumulators; packed A stride 4, B rows L wide, bs apart. */
    private static void k4x1(int kc, float[] ap, int ao, float[] bp, int bo, int bs, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c10 = z, c20 = z, c30 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 4, bi = bo + p * bs;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30);
        }
        c00.intoArray(t, 0);
        c10.intoArray(t, NR);
        c20.intoArray(t, 2 * NR);
        c30.intoArray(t, 3 * NR);
    }

    /** 12 x NR tile like k12x2, B row p read at {@code bo + boff[bso + p]} (for {@link #gemmPackedARows}). */
    private static void k12x2r(int kc, float[] ap, int ao, float[] bp, int bo, int[] boff, int bso, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z, c80 = z, c81 = z, c90 = z, c91 = z, c100 = z, c101 = z, c110 = z, c111 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 12, bi = bo + boff[bso + p];
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]); c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]); c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(S, ap[ai + 6]); c60 = a.fma(b0, c60); c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[ai + 7]); c70 = a.fma(b0, c70); c71 = a.fma(b1, c71);
            a = FloatVector.broadcast(S, ap[ai + 8]); c80 = a.fma(b0, c80); c81 = a.fma(b1, c81);
            a = FloatVector.broadcast(S, ap[ai + 9]); c90 = a.fma(b0, c90); c91 = a.fma(b1, c91);
            a = FloatVector.broadcast(S, ap[ai + 10]); c100 = a.fma(b0, c100); c101 = a.fma(b1, c101);
            a = FloatVector.broadcast(S, ap[ai + 11]); c110 = a.fma(b0, c110); c111 = a.fma(b1, c111);
        }
        c00.intoArray(t, 0); c01.intoArray(t, L);
        c10.intoArray(t, NR); c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L);
        c60.intoArray(t, 6 * NR); c61.intoArray(t, 6 * NR + L);
        c70.intoArray(t, 7 * NR); c71.intoArray(t, 7 * NR + L);
        c80.intoArray(t, 8 * NR); c81.intoArray(t, 8 * NR + L);
        c90.intoArray(t, 9 * NR); c91.intoArray(t, 9 * NR + L);
        c100.intoArray(t, 10 * NR); c101.intoArray(t, 10 * NR + L);
        c110.intoArray(t, 11 * NR); c111.intoArray(t, 11 * NR + L);
    }

    /** 8 x NR tile like k8x2, B row p read at {@code bo + boff[bso + p]} (for {@link #gemmPackedARows}). */
    private static void k8x2r(int kc, float[] ap, int ao, float[] bp, int bo, int[] boff, int bso, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 8, bi = bo + boff[bso + p];
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]); c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]); c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(S, ap[ai + 6]); c60 = a.fma(b0, c60); c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[ai + 7]); c70 = a.fma(b0, c70); c71 = a.fma(b1, c71);
        }
        c00.intoArray(t, 0); c01.intoArray(t, L);
        c10.intoArray(t, NR); c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
        c40.intoArray(t, 4 * NR); c41.intoArray(t, 4 * NR + L);
        c50.intoArray(t, 5 * NR); c51.intoArray(t, 5 * NR + L);
        c60.intoArray(t, 6 * NR); c61.intoArray(t, 6 * NR + L);
        c70.intoArray(t, 7 * NR); c71.intoArray(t, 7 * NR + L);
    }

    /** 4 x NR tile like k4x2, B row p read at {@code bo + boff[bso + p]} (for {@link #gemmPackedARows}). */
    private static void k4x2r(int kc, float[] ap, int ao, float[] bp, int bo, int[] boff, int bso, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * 4, bi = bo + boff[bso + p];
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L), a;
            a = FloatVector.broadcast(S, ap[ai]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
        }
        c00.intoArray(t, 0); c01.intoArray(t, L);
        c10.intoArray(t, NR); c11.intoArray(t, NR + L);
        c20.intoArray(t, 2 * NR); c21.intoArray(t, 2 * NR + L);
        c30.intoArray(t, 3 * NR); c31.intoArray(t, 3 * NR + L);
    }
}
