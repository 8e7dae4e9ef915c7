package optlab.experiments.bench;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.Supplier;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.BinaryOp;
import optlab.kernels.Buffer;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;
import optlab.kernels.Ptr;
import optlab.kernels.RandomDistribution;
import optlab.kernels.ReduceOp;
import optlab.kernels.UnaryOp;
import optlab.kernels.cpu.Parallel;
import optlab.nn.Module;
import optlab.nn.ParameterArena;
import optlab.nn.models.CharLstm;
import optlab.nn.models.CifarResNet;
import optlab.optim.Optimizer;
import optlab.optim.Presets;
import optlab.tensor.Generator;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * The child JVM of {@link ThreadCountBitsTest} (NOTE [thread-independent-bits]): runs the float32 CPU kernels on
 * sizes that their parallel loops split, then two training steps of a small ResNet with batch norm and of the char
 * LSTM, and prints one line {@code name sha256-of-the-output-bits} per result. Its thread count is
 * {@code -Doptlab.threads}; the test runs it at several and compares the lines.
 */
public final class ThreadBitsProbe {
    private ThreadBitsProbe() {}

    private static final Backend BE = Backends.of(Device.CPU);
    private static long seed = 1;

    public static void main(String[] args) throws Exception {
        System.out.println("threads " + Parallel.threads());
        gemm();
        convolutions();
        batchNorm();
        reductionsAndElementwise();
        pooling();
        lossEmbeddingLstm();
        training();
    }

    /** A FLOAT32 buffer of n standard normal values (a new Philox key each call, the same at every thread count). */
    private static Buffer randn(int n) {
        Buffer b = BE.allocate(DType.FLOAT32, n);
        BE.fillRandom(b.ptr(), n, RandomDistribution.NORMAL, 0, 1, seed++, 0);
        return b;
    }

    private static Buffer empty(int n) {
        return BE.allocate(DType.FLOAT32, n);
    }

    private static void emit(String name, Buffer... outs) throws NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (Buffer b : outs) {
            float[] v = new float[b.length()];
            BE.read(b.ptr(), v, 0, v.length);
            hash(md, v);
        }
        System.out.println(name + " " + HexFormat.of().formatHex(md.digest()));
    }

    private static void hash(MessageDigest md, float[] v) {
        byte[] bytes = new byte[4 * v.length];
        for (int i = 0; i < v.length; i++) {
            int bits = Float.floatToRawIntBits(v[i]);
            for (int k = 0; k < 4; k++) bytes[4 * i + k] = (byte) (bits >>> (8 * k));
        }
        md.update(bytes);
    }

    private static void gemm() throws NoSuchAlgorithmException {
        // 2*m*n*k above Sgemm's 8 Mflop split, both split directions (n >= m: columns; else rows), all transposes
        int[][] sizes = {{300, 200, 150}, {64, 1000, 80}, {1000, 64, 80}};
        for (int[] s : sizes) {
            int m = s[0], n = s[1], k = s[2];
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                Buffer a = randn(m * k), b = randn(k * n), c = randn(m * n);
                BE.gemm(ta, tb, m, n, k, 1.0, a.ptr(), ta ? m : k, b.ptr(), tb ? k : n, 0.5, c.ptr(), n, 1, 0, 0, 0);
                emit("gemm " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb, c);
            }
        }
    }

    private static void convolutions() throws NoSuchAlgorithmException {
        Conv2dGeometry[] gs = {
            new Conv2dGeometry(7, 5, 13, 11, 6, 3, 3, 1, 1, 1, 1),
            new Conv2dGeometry(20, 8, 9, 9, 12, 3, 3, 2, 2, 1, 1),
            new Conv2dGeometry(5, 16, 8, 8, 24, 1, 1, 1, 1, 0, 0),
            new Conv2dGeometry(1, 3, 32, 32, 16, 5, 5, 1, 1, 2, 2),
            new Conv2dGeometry(37, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1),
            new Conv2dGeometry(2, 6, 10, 10, 8, 3, 3, 1, 1, 0, 0),
            // images in 16 groups through the dot-product filter gradient (output rows of 24 x 26 floats)
            new Conv2dGeometry(20, 4, 24, 24, 8, 3, 3, 1, 1, 1, 1),
            // one image with enough work to split its output (and filter) columns between threads
            new Conv2dGeometry(1, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1),
        };
        for (Conv2dGeometry g : gs) {
            Buffer x = randn(g.inputSize()), w = randn(g.filterSize()), y = empty(g.outputSize());
            Buffer dy = randn(g.outputSize()), dx = empty(g.inputSize()), dw = empty(g.filterSize());
            BE.conv2dForward(g, x.ptr(), w.ptr(), y.ptr());
            BE.conv2dBackwardData(g, dy.ptr(), w.ptr(), dx.ptr());
            BE.conv2dBackwardFilter(g, x.ptr(), dy.ptr(), dw.ptr());
            emit("conv2d forward " + g, y);
            emit("conv2d backward_data " + g, dx);
            emit("conv2d backward_filter " + g, dw);
        }
    }

    private static void batchNorm() throws NoSuchAlgorithmException {
        int[][] shapes = {{9, 5, 4000}, {64, 16, 64}, {3, 40, 1}};
        for (int[] s : shapes) {
            int n = s[0], c = s[1], hw = s[2];
            Buffer x = randn(n * c * hw), gamma = randn(c), beta = randn(c), rm = randn(c), rv = randn(c);
            BE.unary(UnaryOp.ABS, 0, c, rv.ptr(), rv.ptr());
            Buffer y = empty(n * c * hw), sm = empty(c), si = empty(c);
            BE.batchNormForwardTraining(n, c, hw, x.ptr(), gamma.ptr(), beta.ptr(), 1e-5, 0.1, rm.ptr(), rv.ptr(), y.ptr(), sm.ptr(), si.ptr());
            emit("batchnorm forward (" + n + ", " + c + ", " + hw + ")", y, sm, si, rm, rv);
            Buffer dy = randn(n * c * hw), dx = empty(n * c * hw), dg = empty(c), db = empty(c);
            BE.batchNormBackward(n, c, hw, x.ptr(), dy.ptr(), gamma.ptr(), sm.ptr(), si.ptr(), dx.ptr(), dg.ptr(), db.ptr());
            emit("batchnorm backward (" + n + ", " + c + ", " + hw + ")", dx, dg, db);
            // the fused epilogue (NOTE [bn-epilogue]): relu(bn(x) + z), then its backward with dz and with the mask alone
            Buffer z = randn(n * c * hw), ye = empty(n * c * hw), dz = empty(n * c * hw);
            BE.batchNormForwardTraining(n, c, hw, x.ptr(), gamma.ptr(), beta.ptr(), 1e-5, 0.1, null, null, ye.ptr(), sm.ptr(), si.ptr(), z.ptr(), true);
            emit("batchnorm forward add_relu (" + n + ", " + c + ", " + hw + ")", ye, sm, si);
            BE.batchNormBackward(n, c, hw, x.ptr(), dy.ptr(), gamma.ptr(), sm.ptr(), si.ptr(), dx.ptr(), dg.ptr(), db.ptr(), ye.ptr(), true, dz.ptr());
            emit("batchnorm backward add_relu (" + n + ", " + c + ", " + hw + ")", dx, dg, db, dz);
            BE.batchNormBackward(n, c, hw, x.ptr(), dy.ptr(), gamma.ptr(), sm.ptr(), si.ptr(), dx.ptr(), dg.ptr(), db.ptr(), ye.ptr(), true, null);
            emit("batchnorm backward relu (" + n + ", " + c + ", " + hw + ")", dx, dg, db);
        }
    }

    private static void reductionsAndElementwise() throws NoSuchAlgorithmException {
        int[][] shapes = {{3, 50000, 1}, {7, 300, 1000}, {1, 200003, 1}, {2000, 3, 41}};
        for (int[] s : shapes) {
            for (ReduceOp op : ReduceOp.values()) {
                Buffer x = randn(s[0] * s[1] * s[2]), y = empty(s[0] * s[2]);
                BE.reduce(op, s[0], s[1], s[2], x.ptr(), y.ptr());
                emit("reduce " + op + " (" + s[0] + ", " + s[1] + ", " + s[2] + ")", y);
            }
        }
        int n = 100_003;
        for (UnaryOp op : new UnaryOp[] {UnaryOp.RELU, UnaryOp.EXP, UnaryOp.TANH, UnaryOp.SQUARE}) {
            Buffer x = randn(n), y = empty(n);
            BE.unary(op, 0.5, n, x.ptr(), y.ptr());
            emit("unary " + op, y);
        }
        // (1000, 257) + (257) broadcast, and a transposed operand
        Buffer a = randn(1000 * 257), b = randn(257), out = empty(1000 * 257);
        BE.binary(BinaryOp.MUL, new int[] {1000, 257}, out.ptr(), new int[] {257, 1}, a.ptr(), new int[] {257, 1}, b.ptr(), new int[] {0, 1});
        emit("binary MUL broadcast", out);
        BE.binary(BinaryOp.ADD, new int[] {1000, 257}, out.ptr(), new int[] {257, 1}, out.ptr(), new int[] {257, 1}, a.ptr(), new int[] {1, 1000});
        emit("binary ADD transposed", out);
        Buffer dst = empty(1000 * 257);
        BE.copy(new int[] {257, 1000}, dst.ptr(), new int[] {1000, 1}, a.ptr(), new int[] {1, 257});
        emit("copy transpose", dst);
    }

    private static void pooling() throws NoSuchAlgorithmException {
        Pool2dGeometry g = new Pool2dGeometry(6, 7, 30, 30, 3, 3, 2, 2, 1, 1);
        int in = g.n() * g.c() * g.h() * g.w(), out = g.n() * g.c() * g.p() * g.q();
        Buffer x = randn(in), y = empty(out), dy = randn(out), dx = empty(in);
        BE.maxPool2dForward(g, x.ptr(), y.ptr());
        BE.maxPool2dBackward(g, x.ptr(), y.ptr(), dy.ptr(), dx.ptr());
        emit("maxpool forward+backward", y, dx);
        BE.avgPool2dForward(g, false, x.ptr(), y.ptr());
        BE.avgPool2dBackward(g, false, dy.ptr(), dx.ptr());
        emit("avgpool forward+backward", y, dx);
    }

    private static void lossEmbeddingLstm() throws NoSuchAlgorithmException {
        int n = 300, classes = 83;
        Buffer logits = randn(n * classes), loss = empty(n), probs = empty(n * classes), dLoss = randn(n), dLogits = empty(n * classes);
        Buffer labels = BE.allocate(DType.INT32, n);
        int[] l = new int[n];
        for (int i = 0; i < n; i++) l[i] = (7 * i + 3) % classes;
        BE.write(labels.ptr(), l, 0, n);
        BE.softmaxCrossEntropyForward(n, classes, logits.ptr(), labels.ptr(), 0.1, loss.ptr(), probs.ptr());
        BE.softmaxCrossEntropyBackward(n, classes, probs.ptr(), labels.ptr(), 0.1, dLoss.ptr(), dLogits.ptr());
        emit("softmax_cross_entropy", loss, probs, dLogits);
        int dim = 64;
        Buffer dOut = randn(n * dim), table = randn(classes * dim);
        BE.embeddingBackward(n, dim, classes, labels.ptr(), dOut.ptr(), table.ptr());
        emit("embedding backward", table);

        LstmGeometry g = new LstmGeometry(20, 16, 40, 64);
        Buffer x = randn(g.inputSize()), h0 = randn(g.stateSize()), c0 = randn(g.stateSize());
        Buffer wIh = randn(g.weightIhSize()), wHh = randn(g.weightHhSize()), bIh = randn(g.biasSize()), bHh = randn(g.biasSize());
        Buffer y = empty(g.outputSize()), hT = empty(g.stateSize()), cT = empty(g.stateSize()), reserve = empty(BE.lstmReserveSize(g));
        BE.lstmSequenceForward(g, x.ptr(), h0.ptr(), c0.ptr(), wIh.ptr(), wHh.ptr(), bIh.ptr(), bHh.ptr(), y.ptr(), hT.ptr(), cT.ptr(), reserve.ptr());
        emit("lstm forward", y, hT, cT);
        Buffer dy = randn(g.outputSize()), dhT = randn(g.stateSize()), dcT = randn(g.stateSize());
        Buffer dx = empty(g.inputSize()), dh0 = empty(g.stateSize()), dc0 = empty(g.stateSize());
        Buffer dwIh = empty(g.weightIhSize()), dwHh = empty(g.weightHhSize()), db = empty(g.biasSize());
        BE.lstmSequenceBackward(g, x.ptr(), h0.ptr(), c0.ptr(), wIh.ptr(), wHh.ptr(), y.ptr(), reserve.ptr(), dy.ptr(), dhT.ptr(), dcT.ptr(),
                dx.ptr(), dh0.ptr(), dc0.ptr(), dwIh.ptr(), dwHh.ptr(), db.ptr());
        emit("lstm backward", dx, dh0, dc0, dwIh, dwHh, db);
    }

    /** Two training steps of a ResNet-8 with BN (momentum) and of the char LSTM (Adam); the parameters' and gradients' bits. */
    private static void training() throws NoSuchAlgorithmException {
        Generator g = new Generator(3);
        CifarResNet resnet = new CifarResNet(8, true, 10, g);
        Tensor images = Tensor.random(RandomDistribution.NORMAL, 0, 1, new Generator(4), Shape.of(24, 3, 16, 16), DType.FLOAT32, Device.CPU);
        int[] labels = new int[24];
        for (int i = 0; i < labels.length; i++) labels[i] = i % 10;
        Tensor y = Tensor.ofInts(labels, 24);
        trainAndEmit("train resnet8_bn", resnet, "choi.momentum", () -> Functional.crossEntropy(resnet.forward(new Variable(images)), y));

        CharLstm lstm = new CharLstm(83, new Generator(5), new Generator(6));
        int n = 4 * 12;
        int[] tokens = new int[n], targets = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = (7 * i + 3) % 83;
            targets[i] = (5 * i + 1) % 83;
        }
        Tensor tx = Tensor.ofInts(tokens, 4, 12), ty = Tensor.ofInts(targets, 4, 12);
        trainAndEmit("train charlstm", lstm, "choi.adam", () -> {
            CharLstm.Output o = lstm.forward(tx, null);
            o.state().close();
            return CharLstm.loss(o.logits(), ty);
        });
    }

    private static void trainAndEmit(String name, Module model, String optimizer, Supplier<Variable> forward) throws NoSuchAlgorithmException {
        try (ParameterArena arena = ParameterArena.pack(model); Optimizer opt = Presets.get(optimizer).create(arena)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (int step = 0; step < 2; step++) {
                double loss = ModelStepBenchmark.step(opt, forward);
                md.update(Long.toString(Double.doubleToRawLongBits(loss)).getBytes());
            }
            hash(md, arena.values().toFloatArray());
            hash(md, arena.grads().toFloatArray());
            for (Map.Entry<String, Tensor> b : model.namedBuffers().entrySet()) hash(md, b.getValue().toFloatArray());
            System.out.println(name + " " + HexFormat.of().formatHex(md.digest()));
        }
    }
}
