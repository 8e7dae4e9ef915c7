package optlab.kernels.cpu;

import java.util.Arrays;
import java.util.SplittableRandom;
import optlab.kernels.Backend;
import optlab.kernels.BatchNormEpilogue;
import optlab.kernels.Buffer;
import optlab.kernels.DType;
import optlab.kernels.Ptr;

/**
 * A microbenchmark of batch norm's fused epilogue (Backend's NOTE [bn-epilogue]) on the CPU backend: ResNet-20's 19
 * batch norms at batch 128, each as one fused call and as the plain batch norm with the add and ReLU (forward) or the
 * ReLU's mask (backward) run as separate primitives ({@link BatchNormEpilogue}, what the graph ran before the fusion),
 * both alternated in every round. Not a test; run it from the built class path, e.g.
 * <pre>
 *   source bin/java-env && mvn -o -q test-compile -pl kernels/cpu -am
 *   $JAVA $OPTLAB_JVM_ARGS -Doptlab.threads=2 -cp "kernels/cpu/target/classes:kernels/cpu/target/test-classes:\
 *   kernels/contract/target/classes:kernels/reference/target/classes" optlab.kernels.cpu.BatchNormBenchmark [rounds]
 * </pre>
 * Prints, per direction, the median and range over the rounds of the step's total ms, fused and unfused.
 */
public final class BatchNormBenchmark {
    private BatchNormBenchmark() {}

    /** (c, hw, count, add): ResNet-20's batch norms at batch 128; add = 1 for bn2 + shortcut -> ReLU, 0 for bn -> ReLU. */
    static final int[][] RESNET20 = {{16, 1024, 4, 0}, {16, 1024, 3, 1}, {32, 256, 3, 0}, {32, 256, 3, 1}, {64, 64, 3, 0}, {64, 64, 3, 1}};
    static final int BATCH = 128;

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 9;
        Backend be = CpuBackend.get();
        System.out.println("threads=" + Parallel.threads() + " rounds=" + rounds);
        double[][] ms = new double[4][rounds]; // forward fused, forward unfused, backward fused, backward unfused
        SplittableRandom rnd = new SplittableRandom(1);
        for (int round = -2; round < rounds; round++) { // two warm-up rounds
            for (int[] l : RESNET20) {
                int c = l[0], hw = l[1], size = BATCH * c * hw;
                boolean add = l[3] == 1;
                try (Buffer x = random(be, rnd, size); Buffer z = random(be, rnd, size); Buffer dy = random(be, rnd, size);
                     Buffer gamma = random(be, rnd, c); Buffer beta = random(be, rnd, c); Buffer y = be.allocate(DType.FLOAT32, size);
                     Buffer sm = be.allocate(DType.FLOAT32, c); Buffer si = be.allocate(DType.FLOAT32, c); Buffer dx = be.allocate(DType.FLOAT32, size);
                     Buffer dg = be.allocate(DType.FLOAT32, c); Buffer db = be.allocate(DType.FLOAT32, c); Buffer g = be.allocate(DType.FLOAT32, size)) {
                    Ptr zp = add ? z.ptr() : null, dz = add ? g.ptr() : null;
                    for (int rep = 0; rep < l[2]; rep++) {
                        long t0 = System.nanoTime();
                        be.batchNormForwardTraining(BATCH, c, hw, x.ptr(), gamma.ptr(), beta.ptr(), 1e-5, 0.1, null, null, y.ptr(), sm.ptr(),
                                si.ptr(), zp, true);
                        long t1 = System.nanoTime();
                        be.batchNormForwardTraining(BATCH, c, hw, x.ptr(), gamma.ptr(), beta.ptr(), 1e-5, 0.1, null, null, y.ptr(), sm.ptr(),
                                si.ptr());
                        BatchNormEpilogue.forward(be, size, y.ptr(), zp, true);
                        long t2 = System.nanoTime();
                        be.batchNormBackward(BATCH, c, hw, x.ptr(), dy.ptr(), gamma.ptr(), sm.ptr(), si.ptr(), dx.ptr(), dg.ptr(), db.ptr(),
                                y.ptr(), true, dz);
                        long t3 = System.nanoTime();
                        Ptr gp = BatchNormEpilogue.gradient(be, size, dy.ptr(), y.ptr(), true, g.ptr(), null);
                        be.batchNormBackward(BATCH, c, hw, x.ptr(), gp, gamma.ptr(), sm.ptr(), si.ptr(), dx.ptr(), dg.ptr(), db.ptr());
                        long t4 = System.nanoTime();
                        if (round >= 0) {
                            ms[0][round] += (t1 - t0) / 1e6;
                            ms[1][round] += (t2 - t1) / 1e6;
                            ms[2][round] += (t3 - t2) / 1e6;
                            ms[3][round] += (t4 - t3) / 1e6;
                        }
                    }
                }
            }
        }
        String[] what = {"forward  fused", "forward  unfused", "backward fused", "backward unfused"};
        for (int k = 0; k < 4; k++) {
            double[] t = ms[k].clone();
            Arrays.sort(t);
            System.out.printf("resnet20 batchnorm %-17s %6.2f ms  (%.2f .. %.2f)%n", what[k], t[rounds / 2], t[0], t[rounds - 1]);
        }
    }

    private static Buffer random(Backend be, SplittableRandom rnd, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) a[i] = (float) (rnd.nextDouble() * 2 - 1);
        Buffer b = be.allocate(DType.FLOAT32, size);
        be.write(b.ptr(), a, 0, size);
        return b;
    }
}
