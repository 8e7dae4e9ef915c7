package optlab.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import optlab.kernels.LstmGeometry;

/**
 * The CPU backend's float32 LSTM: one layer over a whole sequence, and the pointwise cell, with no widening to double.
 * Spec: {@link optlab.kernels.reference.RefLstm} ({@code sequenceForward}, {@code sequenceBackward}, {@code forward},
 * {@code backward}); shapes as in {@link LstmGeometry}: x (t, n, in), wIh (4h, in), wHh (4h, h), gates in
 * PyTorch's order [i | f | g | o], y (t, n, h). Reserve (NOTE [lstm-reserve]): act (t, n, 4h), then c (t, n, h).
 *
 * <h2>Forward</h2>
 * <pre>
 *   act (t*n, 4h) = x (t*n, in) wIh^T                      one GEMM over the whole sequence, both cores
 *   for each chunk of batch rows [r0, r1), on its own thread, for s = 0 .. t-1:
 *     act_s[rows] += h_{s-1}[rows] wHh^T                    (rows, h) x (h, 4h), wHh^T packed once per call
 *     act_s[rows] = cell(act_s[rows] + bIh + bHh)           in place: pre-activations in, activations out
 *     c_s[rows], y_s[rows] = the cell's c and h
 * </pre>
 * NOTE [lstm-rows]: batch rows never meet in an LSTM layer. Row b of step s depends only on row b of x, h0, c0 and
 * of the earlier steps, so a chunk of rows runs its whole sequence with no barrier between steps: one fork and one
 * join per call instead of two per step, and each thread's recurrent GEMM and cell stay in its own cache. And
 * nothing a row computes depends on which other rows share its chunk: every element of a GEMM sums its products
 * in one order whatever rows and columns the call covers ({@link Sgemm}'s class comment), and the cell is
 * elementwise along a row, its vector lanes fixed by the hidden index j alone. So the bits do not depend on the
 * partition of the rows, hence not on the thread count; {@code CpuLstmTest} runs several partitions and compares
 * bits. At batch 50 on two cores each thread takes 25 rows; on 16 cores, 3 or 4 rows each (every core busy, the
 * GEMM's 12-row micro-kernel then running a third full).
 *
 * <h2>Backward</h2>
 * <pre>
 *   for each chunk of batch rows, on its own thread, for s = t-1 .. 0:
 *     dh = dy_s + dhRec;  (dGates_s, dc) = cell'(act_s, c_{s-1}, c_s, dh, dc)     dc updated in place
 *     dhRec = dGates_s (rows, 4h) wHh (4h, h)                                    wHh packed once per call
 *   dx = dGates wIh;  dwIh = dGates^T x;  dwHh = dGates_{1..}^T y_{..t-2} + dGates_0^T h0   whole-sequence GEMMs
 *   db = dGates summed over the t*n rows                                                  per column, in row order
 * </pre>
 * Both recurrent GEMMs multiply the same weights at every step: {@link Sgemm#packB(boolean, int, int, float[], int,
 * int, float[])} packs them once per call into the GEMM's panel layout and every step runs {@link Sgemm#sgemmPackedB}
 * on them, instead of 50 packings of the same 256 KiB per thread and layer. The weight gradients are sums over rows, so they are left to the whole-sequence GEMMs (each element summed in a
 * fixed order, NOTE [lstm-rows] again) instead of being accumulated per chunk.
 *
 * <h2>Transcendentals</h2>
 * sigmoid(x) = 1 / (1 + exp(-x)) and tanh(x) = 1 - 2 / (exp(2x) + 1) (an odd polynomial for |x| < 0.625, where that
 * difference would cancel), with exp a Cephes-style range reduction and degree-6 polynomial written with the
 * Vector API's basic arithmetic only. NOTE [lstm-exp]: not {@code VectorOperators.EXP}, whose compiled form (a
 * vendor math library) and interpreted form ({@code Math.exp} per lane) may differ in the last bit: two threads in
 * different JIT tiers would then break the thread-count independence. Additions, products, fma, division and
 * bit casts round the same way in every tier. Every element, the last partial vector of a row included, runs the
 * same vector code (the partial vector on a padded copy, NOTE [vector-phis]), so no element sees a different formula.
 * exp is within 3e-7 relative of {@code Math.exp}, sigmoid and tanh within 1e-7 + 4e-7 relative of the double values
 * ({@code CpuLstmTest}); the conformance tests hold the kernels to the double reference.
 */
final class CpuLstm {
    private CpuLstm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** Multiply-adds of a sequence's recurrent GEMMs below which one thread runs all rows. */
    private static final long MIN_WORK_PER_THREAD = 1L << 18;

    // ------------------------------------------------------------------------------------------------
    // Whole sequence
    // ------------------------------------------------------------------------------------------------

    /**
     * How the rows [0, n) are split and run: {@link Parallel#forRange} in the backend, any partition on any threads in
     * {@code CpuLstmTest} (NOTE [lstm-rows]: the bits may not depend on it).
     */
    @FunctionalInterface
    interface Rows {
        void run(int n, int grain, Parallel.Range body);
    }

    static final Rows PARALLEL = Parallel::forRange;

    /** Floats of the {@code wP} scratch of {@link #forward} and {@link #backward}: wHh packed as either GEMM's B. */
    static int packedSize(LstmGeometry g) {
        int g4 = 4 * g.hidden();
        return Math.max(Sgemm.packedBSize(g.hidden(), g4), Sgemm.packedBSize(g4, g.hidden()));
    }

    /** Rows per chunk handed to {@link Parallel#forRange}: at least one, more when the sequence is small. */
    static int rowGrain(LstmGeometry g) {
        long perRow = (long) g.t() * 4 * g.hidden() * (g.hidden() + 8);
        return (int) Math.max(1, Math.min(g.n(), (MIN_WORK_PER_THREAD + perRow - 1) / perRow));
    }

    /**
     * Forward of one layer; see the class comment. Arrays with their offsets; h0, c0 and bias may be null (zero).
     * {@code bias} (4h, at 0) is bIh + bHh; {@code wP} ({@link #packedSize} floats) is scratch for the packed wHh^T;
     * {@code res} at {@code ro}
     * receives the reserve (act, then c). y, res and wT must not overlap the inputs. {@code split} runs the rows.
     */
    static void forward(LstmGeometry g, float[] x, int xo, float[] h0, int h0o, float[] c0, int c0o, float[] wIh, int wIho,
                        float[] wHh, int wHho, float[] bias, float[] y, int yo, float[] res, int ro, float[] wP, Rows split) {
        int t = g.t(), n = g.n(), in = g.input(), hid = g.hidden(), g4 = 4 * hid, tn = t * n;
        // act (t*n, 4h) = x (t*n, in) wIh^T: the input projection of every step at once
        Sgemm.sgemm(false, true, tn, g4, in, 1f, x, xo, in, wIh, wIho, in, 0f, res, ro, g4);
        // wP = wHh^T (h, 4h), packed for every step's GEMM
        Sgemm.packB(true, hid, g4, wHh, wHho, hid, wP);
        split.run(n, rowGrain(g), (r0, r1) -> forwardRows(g, r0, r1, h0, h0o, c0, c0o, bias, y, yo, res, ro, wP));
    }

    /** Rows [r0, r1) of every step of the forward, after the input projection (NOTE [lstm-rows]). */
    static void forwardRows(LstmGeometry g, int r0, int r1, float[] h0, int h0o, float[] c0, int c0o, float[] bias,
                            float[] y, int yo, float[] res, int ro, float[] wP) {
        int t = g.t(), n = g.n(), hid = g.hidden(), g4 = 4 * hid, nh = n * hid, rows = r1 - r0;
        int cells = ro + t * n * g4;
        for (int s = 0; s < t; s++) {
            int a = ro + (s * n + r0) * g4;
            // act_s[rows] += h_{s-1}[rows] (rows, h) wHh^T (h, 4h); a null h0 is zero: nothing to add
            if (s > 0) Sgemm.sgemmPackedB(false, rows, g4, hid, 1f, y, yo + ((s - 1) * n + r0) * hid, hid, wP, 1f, res, a, g4);
            else if (h0 != null) Sgemm.sgemmPackedB(false, rows, g4, hid, 1f, h0, h0o + r0 * hid, hid, wP, 1f, res, a, g4);
            float[] cp = s > 0 ? res : c0;
            int cpo = s > 0 ? cells + ((s - 1) * n + r0) * hid : c0o + r0 * hid;
            cellForward(rows, hid, res, a, bias, res, a, cp, cpo, y, yo + (s * n + r0) * hid, res, cells + (s * n + r0) * hid);
        }
    }

    /**
     * Backward of one layer; see the class comment. dhT, dcT, h0, c0 may be null (zero); dx, dh0, dc0 may be null (not
     * wanted). {@code dGates} (t*n*4h at 0), {@code dhRec} and {@code dc} (n*h at 0 each), {@code wP} ({@link
     * #packedSize} floats, for the packed wHh) are scratch. Overwrites
     * dwIh, dwHh and db. {@code split} runs the rows.
     */
    static void backward(LstmGeometry g, float[] x, int xo, float[] h0, int h0o, float[] c0, int c0o, float[] wIh, int wIho,
                         float[] wHh, int wHho, float[] y, int yo, float[] res, int ro, float[] dy, int dyo,
                         float[] dhT, int dhTo, float[] dcT, int dcTo, float[] dx, int dxo, float[] dh0, int dh0o,
                         float[] dc0, int dc0o, float[] dwIh, int dwIho, float[] dwHh, int dwHho, float[] db, int dbo,
                         float[] dGates, float[] dhRec, float[] dc, float[] wP, Rows split) {
        int t = g.t(), n = g.n(), in = g.input(), hid = g.hidden(), g4 = 4 * hid, tn = t * n;
        Sgemm.packB(false, g4, hid, wHh, wHho, hid, wP);
        split.run(n, rowGrain(g), (r0, r1) -> backwardRows(g, r0, r1, c0, c0o, wP, res, ro, dy, dyo, dhT, dhTo,
                dcT, dcTo, dh0, dh0o, dc0, dc0o, dGates, dhRec, dc));
        // dx (t*n, in) = dGates (t*n, 4h) wIh (4h, in)
        if (dx != null) Sgemm.sgemm(false, false, tn, in, g4, 1f, dGates, 0, g4, wIh, wIho, in, 0f, dx, dxo, in);
        // dwIh (4h, in) = dGates^T (4h, t*n) x (t*n, in)
        Sgemm.sgemm(true, false, g4, in, tn, 1f, dGates, 0, g4, x, xo, in, 0f, dwIh, dwIho, in);
        // dwHh (4h, h) = sum_s dGates_s^T h_{s-1}: steps 1.. against y_0 .. y_{t-2}, step 0 against h0
        if (t > 1) Sgemm.sgemm(true, false, g4, hid, (t - 1) * n, 1f, dGates, n * g4, g4, y, yo, hid, 0f, dwHh, dwHho, hid);
        else java.util.Arrays.fill(dwHh, dwHho, dwHho + g4 * hid, 0f);
        if (h0 != null) Sgemm.sgemm(true, false, g4, hid, n, 1f, dGates, 0, g4, h0, h0o, hid, 1f, dwHh, dwHho, hid);
        // db (4h) = dGates summed over the t*n rows
        CpuElementwise.reduce(optlab.kernels.ReduceOp.SUM, 1, tn, g4, dGates, 0, db, dbo);
    }

    /** Rows [r0, r1) of the backward through time (NOTE [lstm-rows]); fills those rows of dGates (every step). */
    static void backwardRows(LstmGeometry g, int r0, int r1, float[] c0, int c0o, float[] wP, float[] res, int ro,
                             float[] dy, int dyo, float[] dhT, int dhTo, float[] dcT, int dcTo, float[] dh0, int dh0o,
                             float[] dc0, int dc0o, float[] dGates, float[] dhRec, float[] dc) {
        int t = g.t(), n = g.n(), hid = g.hidden(), g4 = 4 * hid, rows = r1 - r0, so = r0 * hid, len = rows * hid;
        int cells = ro + t * n * g4;
        if (dhT != null) System.arraycopy(dhT, dhTo + so, dhRec, so, len);
        else java.util.Arrays.fill(dhRec, so, so + len, 0f);
        if (dcT != null) System.arraycopy(dcT, dcTo + so, dc, so, len);
        else java.util.Arrays.fill(dc, so, so + len, 0f);
        for (int s = t - 1; s >= 0; s--) {
            float[] cp = s > 0 ? res : c0;
            int cpo = s > 0 ? cells + ((s - 1) * n + r0) * hid : c0o + so;
            int dg = (s * n + r0) * g4;
            cellBackward(rows, hid, res, ro + dg, cp, cpo, res, cells + (s * n + r0) * hid, dy, dyo + (s * n + r0) * hid,
                    dhRec, so, dc, so, dGates, dg, dc, so);
            // dhRec[rows] (rows, h) = dGates_s[rows] (rows, 4h) wHh (4h, h); at s = 0 only when dh0 is wanted
            if (s > 0 || dh0 != null) Sgemm.sgemmPackedB(false, rows, hid, g4, 1f, dGates, dg, g4, wP, 0f, dhRec, so, hid);
        }
        if (dh0 != null) System.arraycopy(dhRec, so, dh0, dh0o + so, len);
        if (dc0 != null) System.arraycopy(dc, so, dc0, dc0o + so, len);
    }

    // ------------------------------------------------------------------------------------------------
    // The cell
    // ------------------------------------------------------------------------------------------------

    /*
     * NOTE [vector-phis]: C2 keeps a Vector API value in registers only when no branch merges two vectors and the
     * method that makes it inlines everything it calls; otherwise every vector is boxed on the heap (the first version
     * of this cell ran at 8 ns an element). So the per-vector bodies below load unconditionally (a missing operand is an
     * array of zeros read with a row stride of 0), a row's last partial vector runs the same body on a padded
     * per-thread copy (the same instructions, so the same bits as in a full vector), and the forward runs its
     * transcendentals one kind per loop (sigmoid, tanh, then the cell with its tanh), since one body with all five would
     * pass C2's inlining limits.
     *
     * NOTE [lstm-lanes]: and no vector crosses a call that C2 might not inline. exp, sigmoid and tanh used to be methods
     * from vector to vector, inlined into the loops above when the JIT compiled those first; but when C2 had compiled
     * tanh on its own first (it is hot from the loops' C1 code), its large code was "already compiled into a big method"
     * and never inlined again, so every call boxed its argument and result: the same layer's forward then took 21-26 ms
     * instead of 6-8 (one thread, t = n = 50, h = 128), one JVM or the other depending on the compilation order. Now
     * {@link #lanes} takes and gives its vector through arrays (dst is often the next operand's place anyway, the extra
     * store and load are in L1): inlined or not, nothing is boxed.
     */

    private static final ThreadLocal<float[]> TAIL = ThreadLocal.withInitial(() -> new float[16 * L]);

    /**
     * The cell forward of {@link optlab.kernels.reference.RefLstm#forward} over n rows: gates (n, 4h) at go, plus
     * {@code bias} (4h at 0; null: none) -> act (n, 4h) at ao, c and h (n, h). cp (n, h) may be null (zero). act may
     * be the gates themselves (in place); the rest must not overlap.
     */
    static void cellForward(int n, int hid, float[] gates, int go, float[] bias, float[] act, int ao, float[] cp, int cpo,
                            float[] h, int ho, float[] c, int co) {
        float[] zeros = bias == null || cp == null ? new float[4 * hid] : null;
        float[] b = bias != null ? bias : zeros, cpa = cp != null ? cp : zeros;
        int cps = cp != null ? hid : 0, cpOff = cp != null ? cpo : 0;
        for (int r = 0; r < n; r++) {
            int gr = go + r * 4 * hid, ar = ao + r * 4 * hid, sr = r * hid;
            activations(SIGMOID, 2 * hid, gates, gr, b, 0, act, ar); // i, f
            activations(TANH, hid, gates, gr + 2 * hid, b, 2 * hid, act, ar + 2 * hid); // g
            activations(SIGMOID, hid, gates, gr + 3 * hid, b, 3 * hid, act, ar + 3 * hid); // o
            cells(hid, act, ar, cpa, cpOff + r * cps, h, ho + sr, c, co + sr);
        }
    }

    /** dst[0, len) = f(src[0, len) + bias[0, len)), f = {@link #SIGMOID} or {@link #TANH}, at the offsets given. */
    private static void activations(int f, int len, float[] src, int so, float[] bias, int bo, float[] dst, int d) {
        int full = len - len % L;
        for (int j = 0; j < full; j += L) {
            FloatVector.fromArray(S, src, so + j).add(FloatVector.fromArray(S, bias, bo + j)).intoArray(dst, d + j);
            lanes(f, dst, d + j, dst, d + j);
        }
        int rem = len - full;
        if (rem == 0) return;
        float[] t = TAIL.get();
        java.util.Arrays.fill(t, 0, 2 * L, 0f);
        System.arraycopy(src, so + full, t, 0, rem);
        System.arraycopy(bias, bo + full, t, L, rem);
        FloatVector.fromArray(S, t, 0).add(FloatVector.fromArray(S, t, L)).intoArray(t, 0);
        lanes(f, t, 0, t, 0);
        System.arraycopy(t, 0, dst, d + full, rem);
    }

    /** One row of the cell from its activations act = [i | f | g | o] (4 blocks of hid): c = f*cPrev + i*g, h = o*tanh(c). */
    private static void cells(int hid, float[] act, int ai, float[] cp, int cpi, float[] h, int hi, float[] c, int ci) {
        int full = hid - hid % L;
        for (int j = 0; j < full; j += L) cellLanes(hid, act, ai + j, cp, cpi + j, h, hi + j, c, ci + j);
        int rem = hid - full;
        if (rem == 0) return;
        // padded copy: act's blocks [0, 4L), cPrev, h, c after
        float[] t = TAIL.get();
        java.util.Arrays.fill(t, 0, 7 * L, 0f);
        for (int k = 0; k < 4; k++) System.arraycopy(act, ai + k * hid + full, t, k * L, rem);
        System.arraycopy(cp, cpi + full, t, 4 * L, rem);
        cellLanes(L, t, 0, t, 4 * L, t, 5 * L, t, 6 * L);
        System.arraycopy(t, 5 * L, h, hi + full, rem);
        System.arraycopy(t, 6 * L, c, ci + full, rem);
    }

    private static void cellLanes(int stride, float[] act, int ai, float[] cp, int cpi, float[] h, int hi, float[] c, int ci) {
        FloatVector i = FloatVector.fromArray(S, act, ai), f = FloatVector.fromArray(S, act, ai + stride);
        FloatVector gt = FloatVector.fromArray(S, act, ai + 2 * stride), o = FloatVector.fromArray(S, act, ai + 3 * stride);
        f.mul(FloatVector.fromArray(S, cp, cpi)).add(i.mul(gt)).intoArray(c, ci); // c = f*cPrev + i*g
        lanes(TANH, c, ci, h, hi);
        o.mul(FloatVector.fromArray(S, h, hi)).intoArray(h, hi); // h = o*tanh(c)
    }

    /**
     * The cell backward of {@link optlab.kernels.reference.RefLstm#backward} over n rows, with dh = dh1 + dh2 (dh2 may
     * be null: dh = dh1) and dc (null: zero); writes dGates (n, 4h) and dcPrev (n, h), which may be dc itself. cp may
     * be null (zero).
     */
    static void cellBackward(int n, int hid, float[] act, int ao, float[] cp, int cpo, float[] c, int co,
                             float[] dh1, int dh1o, float[] dh2, int dh2o, float[] dc, int dco,
                             float[] dGates, int dgo, float[] dcPrev, int dcpo) {
        float[] zeros = cp == null || dh2 == null || dc == null ? new float[hid] : null;
        float[] cpa = cp != null ? cp : zeros, dh2a = dh2 != null ? dh2 : zeros, dca = dc != null ? dc : zeros;
        int cps = cp != null ? hid : 0, dh2s = dh2 != null ? hid : 0, dcs = dc != null ? hid : 0;
        int cpOff = cp != null ? cpo : 0, dh2Off = dh2 != null ? dh2o : 0, dcOff = dc != null ? dco : 0;
        int full = hid - hid % L, rem = hid - full;
        for (int r = 0; r < n; r++) {
            int ar = ao + r * 4 * hid, dr = dgo + r * 4 * hid, sr = r * hid;
            int cr = cpOff + r * cps, hr = dh2Off + r * dh2s, dcr = dcOff + r * dcs;
            for (int j = 0; j < full; j += L) {
                backwardLanes(hid, act, ar + j, cpa, cr + j, c, co + sr + j, dh1, dh1o + sr + j, dh2a, hr + j, dca, dcr + j,
                        dGates, dr + j, dcPrev, dcpo + sr + j);
            }
            if (rem > 0) {
                // padded copy: act [0, 4L), dGates [4L, 8L), then cp, c, dh1, dh2, dc, dcPrev
                float[] t = TAIL.get();
                java.util.Arrays.fill(t, 0, 14 * L, 0f);
                for (int k = 0; k < 4; k++) System.arraycopy(act, ar + k * hid + full, t, k * L, rem);
                System.arraycopy(cpa, cr + full, t, 8 * L, rem);
                System.arraycopy(c, co + sr + full, t, 9 * L, rem);
                System.arraycopy(dh1, dh1o + sr + full, t, 10 * L, rem);
                System.arraycopy(dh2a, hr + full, t, 11 * L, rem);
                System.arraycopy(dca, dcr + full, t, 12 * L, rem);
                backwardLanes(L, t, 0, t, 8 * L, t, 9 * L, t, 10 * L, t, 11 * L, t, 12 * L, t, 4 * L, t, 13 * L);
                for (int k = 0; k < 4; k++) System.arraycopy(t, 4 * L + k * L, dGates, dr + k * hid + full, rem);
                System.arraycopy(t, 13 * L, dcPrev, dcpo + sr + full, rem);
            }
        }
    }

    /** One vector of the cell backward; the four gate blocks of act and dGates lie {@code stride} apart. */
    private static void backwardLanes(int stride, float[] act, int ai, float[] cp, int cpi, float[] c, int ci, float[] dh1, int h1,
                                      float[] dh2, int h2, float[] dc, int dci, float[] dg, int dgi, float[] dcp, int dcpi) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        FloatVector i = FloatVector.fromArray(S, act, ai), f = FloatVector.fromArray(S, act, ai + stride);
        FloatVector gt = FloatVector.fromArray(S, act, ai + 2 * stride), o = FloatVector.fromArray(S, act, ai + 3 * stride);
        lanes(TANH, c, ci, dg, dgi + 3 * stride); // tanh(c), parked where dGates_o goes last
        FloatVector tc = FloatVector.fromArray(S, dg, dgi + 3 * stride);
        FloatVector dh = FloatVector.fromArray(S, dh1, h1).add(FloatVector.fromArray(S, dh2, h2));
        // dcTotal = dc + dh * o * (1 - tc^2)
        FloatVector dcTotal = FloatVector.fromArray(S, dc, dci).add(dh.mul(o).mul(one.sub(tc.mul(tc))));
        dcTotal.mul(gt).mul(i).mul(one.sub(i)).intoArray(dg, dgi);
        dcTotal.mul(FloatVector.fromArray(S, cp, cpi)).mul(f).mul(one.sub(f)).intoArray(dg, dgi + stride);
        dcTotal.mul(i).mul(one.sub(gt.mul(gt))).intoArray(dg, dgi + 2 * stride);
        dh.mul(tc).mul(o).mul(one.sub(o)).intoArray(dg, dgi + 3 * stride);
        dcTotal.mul(f).intoArray(dcp, dcpi);
    }

    // ------------------------------------------------------------------------------------------------
    // exp, sigmoid, tanh from basic arithmetic (NOTE [lstm-exp], NOTE [lstm-lanes])
    // ------------------------------------------------------------------------------------------------

    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 in two parts: C1 has few bits, so n * C1 is exact for the n that occur. */
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer, to nearest even. */
    private static final float ROUNDER = 12582912f;
    /** exp's argument is clamped to [EXP_LO, EXP_HI], where 2^n stays a normal float (n from -126 to 127). */
    private static final float EXP_LO = -87f, EXP_HI = 88f;

    /** The functions of {@link #lanes}. */
    static final int EXP = 0, SIGMOID = 1, TANH = 2;

    /**
     * dst[d, d + L) = f(src[s, s + L)) for f = {@link #EXP}, {@link #SIGMOID} or {@link #TANH}; dst may be src. Every
     * vector of this class's transcendentals is made and used here (NOTE [lstm-lanes]).
     * <ul>
     *   <li>e^x: n = round(x log2 e), r = x - n ln 2 (|r| <= ln2 / 2), e^r by Cephes' expf polynomial, times 2^n built
     *   in the exponent bits. x is clamped to [-87, 88] first (e^-87 = 1.6e-38, e^88 = 1.7e38); NaN stays NaN.</li>
     *   <li>sigmoid(x) = 1 / (1 + e^-x).</li>
     *   <li>tanh(x) = 1 - 2 / (e^2x + 1), or Cephes' tanhf polynomial x + x^3 P(x^2) where |x| < 0.625.</li>
     * </ul>
     */
    static void lanes(int f, float[] src, int s, float[] dst, int d) {
        FloatVector x0 = FloatVector.fromArray(S, src, s);
        // e^(k x0): k = -1 and 2 are exact, so this is e^-x and e^2x to the bit
        FloatVector x = x0.mul(f == SIGMOID ? -1f : f == TANH ? 2f : 1f).max(EXP_LO).min(EXP_HI);
        FloatVector t = x.fma(LOG2E, ROUNDER);
        FloatVector nf = t.sub(ROUNDER);
        FloatVector r = nf.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = nf.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(S, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        p = p.mul(r.mul(r)).add(r).add(1f);
        // 2^n: the integer n sits in t's low mantissa bits (t = 1.5 * 2^23 + n)
        IntVector n = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUNDER));
        FloatVector e = p.mul(n.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
        if (f == EXP) {
            e.intoArray(dst, d);
            return;
        }
        if (f == SIGMOID) {
            FloatVector.broadcast(S, 1f).div(e.add(1f)).intoArray(dst, d);
            return;
        }
        FloatVector big = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(e.add(1f)));
        FloatVector z = x0.mul(x0);
        FloatVector q = FloatVector.broadcast(S, -5.70498872745e-3f);
        q = q.fma(z, FloatVector.broadcast(S, 2.06390887954e-2f));
        q = q.fma(z, FloatVector.broadcast(S, -5.37397155531e-2f));
        q = q.fma(z, FloatVector.broadcast(S, 1.33314422036e-1f));
        q = q.fma(z, FloatVector.broadcast(S, -3.33332819422e-1f));
        big.blend(q.mul(z).fma(x0, x0), x0.abs().lt(0.625f)).intoArray(dst, d);
    }
}
