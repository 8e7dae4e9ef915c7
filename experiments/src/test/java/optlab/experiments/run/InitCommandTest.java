package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import optlab.experiments.CliRun;
import optlab.experiments.OptLab;
import optlab.experiments.data.Cifar;
import optlab.nn.io.SafeTensors;
import optlab.nn.models.CifarResNet;
import optlab.tensor.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Zhuang et al.'s shared initialization: made once by bin/optlab init, loaded by every run with --init. */
class InitCommandTest {
    @Test
    void aRunFromASharedInitStartsFromItsWeightsWhateverItsOwnSeed(@TempDir Path tmp) throws IOException {
        Path data = TinyData.cifar(tmp, Cifar.Variant.CIFAR10, 16, 8, 4);
        Path init = tmp.resolve("init.safetensors");
        CliRun r = CliRun.of(new OptLab(), "init", "--workload", "cifar10_resnet20_nobn", "--out", init.toString(), "--init-seed", "5");
        assertEquals(0, r.code(), r.err());
        assertEquals(2, CliRun.of(new OptLab(), "init", "--workload", "cifar10_resnet20_nobn", "--out", init.toString()).code(),
                "an existing initialization is not replaced without --force");

        String[] common = {"train", "--workload", "cifar10_resnet20_nobn", "--data-dir", data.toString(), "--steps", "2", "--batch-size", "8",
            "--eval-batch-size", "8", "--train-eval-size", "8", "--seed", "9"};
        Path fromFile = tmp.resolve("from-file"), fromSeed = tmp.resolve("from-seed");
        assertEquals(0, CliRun.of(new OptLab(), concat(common, "--init", init.toString(), "--run-dir", fromFile.toString())).code());
        assertEquals(0, CliRun.of(new OptLab(), concat(common, "--init-seed", "5", "--run-dir", fromSeed.toString())).code());
        assertArrayEquals(Files.readAllBytes(fromSeed.resolve("final.safetensors")), Files.readAllBytes(fromFile.resolve("final.safetensors")));
    }

    @Test
    void aPyTorchStateDictWithExtraBuffersLoadsWithOneWarning(@TempDir Path tmp) throws IOException {
        Path data = TinyData.cifar(tmp, Cifar.Variant.CIFAR10, 16, 8, 4);
        // PyTorch's state_dict of the same architecture: its BatchNorm layers add num_batches_tracked (I64 [])
        CifarResNet m = new CifarResNet(20, true, 10, new Generator(3));
        Map<String, SafeTensors.Blob> blobs = new LinkedHashMap<>();
        for (var e : m.namedState().entrySet()) blobs.put(e.getKey(), SafeTensors.Blob.of(e.getValue()));
        blobs.put("bn1.num_batches_tracked", SafeTensors.Blob.ofLongs(new long[] {391}));
        blobs.put("layer1.0.bn1.num_batches_tracked", SafeTensors.Blob.ofLongs(new long[] {391}));
        Path file = tmp.resolve("torch.safetensors");
        SafeTensors.write(file, blobs, Map.of());

        CliRun r = CliRun.of(new OptLab(), "train", "--workload", "cifar10_resnet20", "--data-dir", data.toString(), "--steps", "1",
                "--batch-size", "8", "--eval-batch-size", "8", "--train-eval-size", "8", "--init", file.toString(), "--run-dir",
                tmp.resolve("run").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("warning: " + file + " holds tensors this model does not have, ignored: "
                + "bn1.num_batches_tracked, layer1.0.bn1.num_batches_tracked"), r.out());

        // a mis-shaped or missing tensor is refused by name, before training
        blobs.remove("linear.bias");
        SafeTensors.write(file, blobs, Map.of());
        r = CliRun.of(new OptLab(), "train", "--workload", "cifar10_resnet20", "--data-dir", data.toString(), "--steps", "1", "--batch-size", "8",
                "--init", file.toString(), "--run-dir", tmp.resolve("run2").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("missing tensor 'linear.bias'"), r.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
