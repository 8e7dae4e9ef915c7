package optlab.nn.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import optlab.autograd.Grad;
import optlab.autograd.Variable;
import optlab.nn.Module;
import optlab.nn.Lstm;
import optlab.nn.models.AllCnnC;
import optlab.nn.models.CharLstm;
import optlab.nn.models.CifarResNet;
import optlab.nn.models.DenseNetBC;
import optlab.nn.models.ResNet50;
import optlab.nn.models.SimpleCnn;
import optlab.nn.models.Vgg11;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves that our checkpoints are readable as safetensors with PyTorch names: every model of the zoo
 * is saved by Java together with an input and the Java output; {@code safetensors/check_checkpoint.py}
 * reads each file with a strict, specification-following reader ({@code safetensors/read_safetensors.py}),
 * loads the state into the PyTorch reference model ({@code golden/reference_models.py}) with
 * {@code load_state_dict(strict=True)} and compares the outputs (and, for ResNet-20, a training-mode
 * forward and the updated BN running statistics). This checks names, layouts, the option-A shortcut,
 * BN, the DenseNet concatenations, the LSTM equations and the carried state against PyTorch.
 *
 * <p>Runs only where a Python with torch exists ({@code $OPTLAB_PYTHON}, {@code /tmp/venv/bin/python}
 * or {@code python3}); skipped otherwise. {@code SafeTensorsTest} checks the byte layout without Python.
 */
class CheckpointPythonTest {
    @TempDir
    Path dir;

    private static String python() {
        List<String> candidates = new ArrayList<>();
        if (System.getenv("OPTLAB_PYTHON") != null) candidates.add(System.getenv("OPTLAB_PYTHON"));
        candidates.add("/tmp/venv/bin/python");
        candidates.add("python3");
        for (String p : candidates) {
            try {
                Process proc = new ProcessBuilder(p, "-c", "import torch").redirectErrorStream(true).start();
                proc.getInputStream().readAllBytes();
                if (proc.waitFor(120, TimeUnit.SECONDS) && proc.exitValue() == 0) return p;
            } catch (IOException | InterruptedException e) {
                // not this one
            }
        }
        return null;
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(CheckpointPythonTest.class.getResource(name).toURI());
    }

    /** Training-mode forwards on noise, so the BN running statistics are not at their initial values. */
    private static void warmUp(Module m, int n, int size, long seed) {
        m.train();
        try (Scope s = Scope.open(); Grad.Mode off = Grad.disabled()) {
            for (int i = 0; i < 2; i++) m.forward(new Variable(Tensor.randn(new Generator(seed + i), n, 3, size, size)));
        }
    }

    /** Saves the model's state, an input and the Java output (eval mode; optionally a training-mode forward too). */
    private Path image(String file, String reference, Module m, Tensor x, boolean trainToo, String... bnBuffers) throws IOException {
        try (Scope s = Scope.open(); Grad.Mode off = Grad.disabled()) {
            // copies of the state, since the BN buffers change in the training-mode forward below
            Checkpoint.Contents c = new Checkpoint.Contents();
            for (var e : m.namedState().entrySet()) c.tensor(e.getKey(), e.getValue().copy());
            m.eval();
            c.tensor("input.x", x).tensor("output.logits", m.forward(new Variable(x)).data());
            if (trainToo) {
                m.train();
                c.tensor("output.train_logits", m.forward(new Variable(x)).data());
                for (String b : bnBuffers) c.tensor("after." + b, m.namedBuffers().get(b).copy());
            }
            c.metadata("reference", reference).metadata("kind", "image");
            Path p = dir.resolve(file);
            Checkpoint.save(p, c);
            return p;
        }
    }

    private Path lm(String file, CharLstm m, int vocab) throws IOException {
        m.eval();
        try (Scope s = Scope.open(); Grad.Mode off = Grad.disabled()) {
            int[] tok = new int[3 * 7];
            for (int i = 0; i < tok.length; i++) tok[i] = (i * 11 + 2) % vocab;
            Tensor tokens = Tensor.ofInts(tok, 3, 7);
            Lstm.State state = new Lstm.State(Tensor.randn(new Generator(7), 2, 3, m.lstm.hiddenSize()),
                    Tensor.randn(new Generator(8), 2, 3, m.lstm.hiddenSize()));
            CharLstm.Output out = m.forward(tokens, state);
            Checkpoint.Contents c = new Checkpoint.Contents().model(m)
                    .tensor("input.tokens", tokens).tensor("input.h", state.h()).tensor("input.c", state.c())
                    .tensor("output.logits", out.logits().data().contiguous())
                    .tensor("output.h", out.state().h()).tensor("output.c", out.state().c())
                    .metadata("reference", "CharLstm(" + vocab + ", " + m.embedding.weight.size(1) + ", " + m.lstm.hiddenSize() + ", 2)")
                    .metadata("kind", "lm").metadata("lstm_layout", m.layout().name());
            Path p = dir.resolve(file);
            Checkpoint.save(p, c);
            return p;
        }
    }

    @Test
    void pytorchReadsOurCheckpointsAndComputesTheSameOutputs() throws Exception {
        String python = python();
        assumeTrue(python != null, "no Python with torch (tried $OPTLAB_PYTHON, /tmp/venv/bin/python, python3): "
                + "skipping the Python reading of checkpoints; SafeTensorsTest still checks the byte layout");
        List<Path> files = new ArrayList<>();

        CifarResNet r20 = new CifarResNet(20, true, 10, new Generator(1));
        warmUp(r20, 4, 16, 100);
        files.add(image("resnet20_bn.safetensors", "CifarResNet(20, True, 10)", r20, Tensor.randn(new Generator(2), 3, 3, 16, 16), true,
                "bn1.running_mean", "bn1.running_var", "layer2.0.bn1.running_var", "layer3.2.bn2.running_mean"));
        files.add(image("resnet20_nobn.safetensors", "CifarResNet(20, False, 10)", new CifarResNet(20, false, 10, new Generator(3)),
                Tensor.randn(new Generator(4), 2, 3, 16, 16), false));
        DenseNetBC dn = new DenseNetBC(16, 12, true, 10, new Generator(5));
        warmUp(dn, 4, 16, 200);
        files.add(image("densenet16_bn.safetensors", "DenseNetBC(16, 12, True, 10)", dn, Tensor.randn(new Generator(6), 2, 3, 16, 16), true,
                "dense1.1.bn1.running_var", "trans2.bn1.running_mean", "bn.running_var"));
        files.add(image("densenet16_nobn.safetensors", "DenseNetBC(16, 12, False, 10)", new DenseNetBC(16, 12, false, 10, new Generator(7)),
                Tensor.randn(new Generator(8), 2, 3, 16, 16), false));
        ResNet50 r50 = new ResNet50(10, new Generator(9));
        warmUp(r50, 2, 32, 300);
        files.add(image("resnet50.safetensors", "ResNet50(10)", r50, Tensor.randn(new Generator(10), 2, 3, 32, 32), false));
        Vgg11 vgg = new Vgg11(true, 10, new Generator(11));
        warmUp(vgg, 2, 32, 400);
        files.add(image("vgg11_bn.safetensors", "Vgg11(True, 10)", vgg, Tensor.randn(new Generator(12), 2, 3, 32, 32), false));
        files.add(image("allcnnc.safetensors", "AllCnnC(100)", new AllCnnC(100, new Generator(13), new Generator(14)),
                Tensor.randn(new Generator(15), 2, 3, 32, 32), false));
        Path simple = dir.resolve("simplecnn.safetensors");
        SimpleCnn cnn = new SimpleCnn(new Generator(16));
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.rand(new Generator(17), 2, 1, 28, 28);
            Checkpoint.save(simple, new Checkpoint.Contents().model(cnn).tensor("input.x", x)
                    .tensor("output.logits", cnn.forward(new Variable(x)).data()).metadata("reference", "SimpleCnn()").metadata("kind", "image"));
        }
        files.add(simple);
        files.add(lm("charlstm_pytorch.safetensors", new CharLstm(20, 16, 12, 2, 0.8, CharLstm.Layout.PYTORCH, new Generator(18), new Generator(19)), 20));
        files.add(lm("charlstm_deepobs.safetensors", new CharLstm(20, 16, 12, 2, 0.8, CharLstm.Layout.DEEPOBS, new Generator(20), new Generator(21)), 20));

        List<String> cmd = new ArrayList<>(List.of(python, resource("/safetensors/check_checkpoint.py").toString()));
        for (Path f : files) cmd.add(f.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done = p.waitFor(300, TimeUnit.SECONDS);
        System.out.print(out);
        assertEquals(true, done, "check_checkpoint.py did not finish");
        assertEquals(0, p.exitValue(), "check_checkpoint.py reported a failure:\n" + out);
        assertEquals(files.size(), out.lines().filter(l -> l.startsWith("OK ")).count(), out);
    }

    /**
     * {@link Checkpoint#loadInitialization} on a file PyTorch wrote ({@code safetensors/write_initialization.py}: the
     * reference CIFAR ResNet-8's state_dict after two training-mode forwards, num_batches_tracked included, in the
     * safetensors library's layout): the float32 model and a FLOAT64 one load it, ignore exactly the seven
     * num_batches_tracked entries, and reproduce PyTorch's eval-mode output (float32 rounding: 1e-4 relative to the
     * largest logit plus 1e-5, as check_checkpoint.py compares).
     */
    @Test
    void anInitializationWrittenByPyTorchLoadsIntoFloat32AndFloat64Models() throws Exception {
        String python = python();
        assumeTrue(python != null, "no Python with torch (tried $OPTLAB_PYTHON, /tmp/venv/bin/python, python3): skipping the "
                + "PyTorch-written initialization; CheckpointLoadOptionsTest builds PyTorch's layout itself");
        Path init = dir.resolve("torch_init.safetensors"), io = dir.resolve("torch_io.safetensors");
        Process p = new ProcessBuilder(python, resource("/safetensors/write_initialization.py").toString(), init.toString(), io.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(true, p.waitFor(300, TimeUnit.SECONDS), "write_initialization.py did not finish");
        assertEquals(0, p.exitValue(), "write_initialization.py failed:\n" + out);
        Tensor x, expected;
        try (SafeTensors.Reader r = SafeTensors.open(io)) {
            x = Scope.escape(r.tensor("input.x"));
            expected = Scope.escape(r.tensor("output.logits"));
        }
        List<String> tracked = List.of("bn1.num_batches_tracked", "layer1.0.bn1.num_batches_tracked", "layer1.0.bn2.num_batches_tracked",
                "layer2.0.bn1.num_batches_tracked", "layer2.0.bn2.num_batches_tracked", "layer3.0.bn1.num_batches_tracked",
                "layer3.0.bn2.num_batches_tracked");
        for (optlab.kernels.DType dtype : optlab.kernels.DType.values()) {
            if (!dtype.isFloating()) continue;
            CifarResNet m = new CifarResNet(8, true, 10, new Generator(5));
            m.to(dtype);
            List<String> ignored = Checkpoint.loadInitialization(init, m);
            assertEquals(java.util.Set.copyOf(tracked), java.util.Set.copyOf(ignored), dtype.toString());
            assertEquals(tracked.size(), ignored.size());
            m.eval();
            try (Scope s = Scope.open(); Grad.Mode off = Grad.disabled()) {
                double[] y = m.forward(new Variable(x.to(dtype))).data().toDoubleArray(), e = expected.toDoubleArray();
                double scale = 0;
                for (double v : e) scale = Math.max(scale, Math.abs(v));
                for (int i = 0; i < e.length; i++) {
                    assertTrue(Math.abs(y[i] - e[i]) <= 1e-5 + 1e-4 * scale, dtype + ": logit " + i + " is " + y[i] + ", PyTorch " + e[i]);
                }
            }
        }
        x.close();
        expected.close();
    }
}
