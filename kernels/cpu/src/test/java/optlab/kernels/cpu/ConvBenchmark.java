package optlab.kernels.cpu;

import java.util.Arrays;
import java.util.SplittableRandom;
import optlab.kernels.Conv2dGeometry;

/**
 * A microbenchmark of {@link CpuConv}: the convolutions of one training step of a workload, by direction, in ms.
 * Not a test; run it from the built class path, e.g.
 * <pre>
 *   source bin/java-env && mvn -o -q test-compile -pl kernels/cpu -am
 *   $JAVA $OPTLAB_JVM_ARGS -Doptlab.threads=2 -cp "kernels/cpu/target/classes:kernels/cpu/target/test-classes:\
 *   kernels/contract/target/classes:kernels/reference/target/classes" optlab.kernels.cpu.ConvBenchmark [rounds]
 * </pre>
 * Workloads: CIFAR ResNet-20 at batch 128 (its 19 convolutions; the shortcuts are parameter-free) and DeepOBS
 * fmnist_2c2d at batch 256. Each round times every direction of every convolution once (count times); the
 * median and range over the rounds of each direction's total are printed, with its GFLOP/s, then the median
 * ms of each convolution and direction.
 */
public final class ConvBenchmark {
    private ConvBenchmark() {}

    /**
     * (n, c, h, w, k, r, s, stride, pad, count, dx): the step's convolutions; dx = 0 for the first layer, whose
     * input needs no gradient (autograd's Conv2d skips its backward data).
     */
    static final int[][] RESNET20 = {
            {128, 3, 32, 32, 16, 3, 3, 1, 1, 1, 0},
            {128, 16, 32, 32, 16, 3, 3, 1, 1, 6, 1},
            {128, 16, 32, 32, 32, 3, 3, 2, 1, 1, 1},
            {128, 32, 16, 16, 32, 3, 3, 1, 1, 5, 1},
            {128, 32, 16, 16, 64, 3, 3, 2, 1, 1, 1},
            {128, 64, 8, 8, 64, 3, 3, 1, 1, 5, 1},
    };
    static final int[][] FMNIST_2C2D = {
            {256, 1, 28, 28, 32, 5, 5, 1, 2, 1, 0},
            {256, 32, 14, 14, 64, 5, 5, 1, 2, 1, 1},
    };

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        System.out.println("threads=" + Parallel.threads() + " rounds=" + rounds);
        run("resnet20", RESNET20, rounds);
        run("fmnist_2c2d", FMNIST_2C2D, rounds);
    }

    private static void run(String name, int[][] convs, int rounds) {
        int m = convs.length;
        Conv2dGeometry[] gs = new Conv2dGeometry[m];
        float[][] x = new float[m][], w = new float[m][], y = new float[m][], dx = new float[m][], dw = new float[m][];
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < m; i++) {
            int[] c = convs[i];
            gs[i] = new Conv2dGeometry(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[7], c[8], c[8]);
            x[i] = random(rnd, gs[i].inputSize());
            w[i] = random(rnd, gs[i].filterSize());
            y[i] = random(rnd, gs[i].outputSize());
            dx[i] = new float[gs[i].inputSize()];
            dw[i] = new float[gs[i].filterSize()];
        }
        String[] dirs = {"forward", "backward_data", "backward_filter"};
        double[][][] ms = new double[3][m][rounds];
        for (int round = -2; round < rounds; round++) { // two warm-up rounds
            for (int i = 0; i < m; i++) {
                Conv2dGeometry g = gs[i];
                for (int d = 0; d < 3; d++) {
                    if (d == 1 && convs[i][10] == 0) continue;
                    long t0 = System.nanoTime();
                    for (int rep = 0; rep < convs[i][9]; rep++) {
                        switch (d) {
                            case 0 -> CpuConv.forward(g, x[i], 0, w[i], 0, y[i], 0);
                            case 1 -> CpuConv.backwardData(g, y[i], 0, w[i], 0, dx[i], 0);
                            default -> CpuConv.backwardFilter(g, x[i], 0, y[i], 0, dw[i], 0);
                        }
                    }
                    if (round >= 0) ms[d][i][round] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }
        for (int d = 0; d < 3; d++) {
            double[] total = new double[rounds];
            double fl = 0;
            for (int i = 0; i < m; i++) {
                if (d == 1 && convs[i][10] == 0) continue;
                fl += convs[i][9] * gs[i].flops();
                for (int round = 0; round < rounds; round++) total[round] += ms[d][i][round];
            }
            Arrays.sort(total);
            double med = total[rounds / 2];
            System.out.printf("%-12s %-16s %8.1f ms  (%.1f .. %.1f)  %6.1f GFLOP/s%n", name, dirs[d], med, total[0],
                    total[rounds - 1], fl / med / 1e6);
        }
        for (int i = 0; i < m; i++) {
            StringBuilder line = new StringBuilder(String.format("  %-40s x%d", gs[i], convs[i][9]));
            for (int d = 0; d < 3; d++) {
                double[] t = ms[d][i].clone();
                Arrays.sort(t);
                line.append(String.format("  %s %.1f", dirs[d], t[rounds / 2]));
            }
            System.out.println(line);
        }
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) a[i] = (float) (rnd.nextDouble() * 2 - 1);
        return a;
    }
}
