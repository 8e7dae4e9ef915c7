package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import optlab.experiments.CliRun;
import optlab.experiments.OptLab;
import optlab.experiments.data.Batches;
import optlab.experiments.data.FashionMnist;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.tensor.Scope;
import optlab.kernels.cuda.Cuda;
import optlab.nn.ParameterArena;
import optlab.nn.io.Checkpoint;
import optlab.nn.models.SimpleCnn;
import optlab.optim.Adam;
import optlab.tensor.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/optlab train --workload fmnist_2c2d} computes what the first training main computed: the same model from
 * the same seed, the same batches in the same order, the same Adam, so the same bits: 30 steps of the main's loop
 * (ClassifierTraining.trainEpoch's body) and of the new command end with identical weights, so its 88.47% after one
 * epoch carries over (docs/WORKLOADS.md). Real Fashion-MNIST (CI installs it).
 */
class FashionMnistRunTest {
    @Test
    void theCommandComputesTheFirstMainsBits(@TempDir Path tmp) throws IOException {
        Path data = Path.of(FashionMnist.DEFAULT_DIR);
        assumeTrue(Files.exists(data.resolve("train-images-idx3-ubyte.gz")), "Fashion-MNIST is not installed");
        Path dir = tmp.resolve("run");
        CliRun r = CliRun.of(new OptLab(), "train", "--workload", "fmnist_2c2d", "--steps", "30", "--train-eval-size", "0",
                "--run-dir", dir.toString());
        assertEquals(0, r.code(), r.err());

        SimpleCnn reference = new SimpleCnn(new Generator(0));
        try (ParameterArena arena = ParameterArena.pack(reference); Adam adam = new Adam(arena, 1e-3)) {
            // the first main's loop (ClassifierTraining.trainEpoch's body) over the first 30 batches of its epoch 1
            Iterator<Batches.Batch> batches = new Batches(FashionMnist.train(data), 128, false, 0, 1).iterator();
            for (int step = 0; step < 30; step++) {
                try (Scope s = Scope.open(); Batches.Batch b = batches.next()) {
                    Variable loss = Functional.crossEntropy(reference.forward(new Variable(b.images())), b.labels());
                    adam.zeroGrad();
                    loss.backward();
                    adam.step();
                }
            }
        }
        SimpleCnn loaded = new SimpleCnn(new Generator(99));
        Checkpoint.loadModel(dir.resolve("final.safetensors"), loaded);
        for (var e : reference.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().data().toFloatArray(), loaded.namedParameters().get(e.getKey()).data().toFloatArray(), e.getKey());
        }
    }

    @Test
    void aDeviceThatCannotBeUsedIsOneClearLine(@TempDir Path tmp) {
        assumeFalse(Cuda.probe().usable(), "a GPU is usable here");
        CliRun r = CliRun.of(new OptLab(), "train", "--workload", "fmnist_2c2d", "--device", "cuda", "--run-dir", tmp.resolve("a").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: --device cuda:0 cannot be used: "), r.err());
        r = CliRun.of(new OptLab(), "train", "--workload", "fmnist_2c2d", "--device", "gpu0");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: not a device: 'gpu0' (expected cpu, cuda, cuda:N or reference)"), r.err());
    }
}
