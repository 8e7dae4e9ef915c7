package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import optlab.experiments.CliRun;
import optlab.experiments.OptLab;
import optlab.experiments.data.Cifar;
import optlab.kernels.Backends;
import optlab.kernels.BinaryOp;
import optlab.kernels.Conv2dGeometry;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;
import optlab.kernels.Ptr;
import optlab.kernels.cpu.CpuBackend;
import optlab.kernels.family.BinaryKernel;
import optlab.kernels.family.Conv2dKernel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's "the run's recorded kernels equal what ran", end to end through {@code bin/optlab train --kernels}: a run
 * whose convolutions and additions go to user Java kernels (which hand each call to the built-in CPU kernels, so the
 * run must give the same bits) records those kernels as chosen in config.json and as the only ones that served
 * conv2d and binary.add in result.json's kernel_calls, with the built-in run's counts; and a choice the CPU cannot run
 * is refused before anything runs.
 */
class UserKernelRunTest {
    @TempDir
    Path tmp;

    /** conv2d by the built-in CPU backend: a user kernel that must reproduce the built-in run bit for bit. */
    public static final class DelegatingConv implements Conv2dKernel {
        @Override
        public void forward(Conv2dGeometry g, Ptr x, Ptr w, Ptr y) {
            CpuBackend.get().conv2dForward(g, x, w, y);
        }

        @Override
        public void backwardData(Conv2dGeometry g, Ptr dy, Ptr w, Ptr dx) {
            CpuBackend.get().conv2dBackwardData(g, dy, w, dx);
        }

        @Override
        public void backwardFilter(Conv2dGeometry g, Ptr x, Ptr dy, Ptr dw) {
            CpuBackend.get().conv2dBackwardFilter(g, x, dy, dw);
        }
    }

    /** binary ops by the built-in CPU backend. */
    public static final class DelegatingBinary implements BinaryKernel {
        @Override
        public void apply(BinaryOp op, int[] shape, Ptr out, int[] os, Ptr a, int[] as, Ptr b, int[] bs) {
            CpuBackend.get().binary(op, shape, out, os, a, as, b, bs);
        }
    }

    @AfterEach
    void restore() {
        Backends.open(Device.CPU, KernelChoices.defaults());
    }

    private List<String> args(Path data, Path dir, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--workload", "cifar10_resnet20", "--data-dir", data.toString(), "--batch-size", "8",
                "--eval-batch-size", "8", "--train-eval-size", "8", "--steps", "3", "--run-dir", dir.toString()));
        a.addAll(List.of(more));
        return a;
    }

    @Test
    void aRunRecordsTheUserKernelsItChoseAndTheCallsTheyServed() throws IOException {
        Path data = TinyData.cifar(tmp, Cifar.Variant.CIFAR10, 32, 8, 9);
        Path builtIn = tmp.resolve("builtin"), user = tmp.resolve("user");
        CliRun a = CliRun.of(new OptLab(), args(data, builtIn).toArray(String[]::new));
        assertEquals(0, a.code(), a.err());
        String conv = "conv2d=java:" + DelegatingConv.class.getName(), add = "binary.add=java:" + DelegatingBinary.class.getName();
        CliRun b = CliRun.of(new OptLab(), args(data, user, "--kernels", conv + "," + add).toArray(String[]::new));
        assertEquals(0, b.code(), b.err());

        assertArrayEquals(Files.readAllBytes(builtIn.resolve("final.safetensors")), Files.readAllBytes(user.resolve("final.safetensors")),
                "the user kernels compute what the built-in ones do");
        ObjectMapper json = new ObjectMapper();
        JsonNode chosen = json.readTree(user.resolve("config.json").toFile()).at("/derived/kernels");
        assertEquals("java:" + DelegatingConv.class.getName() + " [command line]", chosen.get("conv2d").asText(), chosen.toString());
        assertEquals("java:" + DelegatingBinary.class.getName() + " [command line]", chosen.get("binary.add").asText(), chosen.toString());
        assertEquals("cpu_sgemm", chosen.get("gemm").asText(), chosen.toString());

        JsonNode ranBuiltIn = json.readTree(builtIn.resolve("result.json").toFile()).get("kernel_calls");
        JsonNode ranUser = json.readTree(user.resolve("result.json").toFile()).get("kernel_calls");
        long convCalls = ranBuiltIn.path("conv2d=cpu_implicit_gemm").asLong(), addCalls = ranBuiltIn.path("binary.add=cpu").asLong();
        assertTrue(convCalls > 0 && addCalls > 0, ranBuiltIn.toString());
        assertEquals(convCalls, ranUser.path(conv).asLong(), ranUser.toString());
        // With a user binary.add, batch norm's fused residual add (NOTE [bn-epilogue]) runs as a separate op, which the
        // user kernel serves too: ResNet-20's 9 residual additions in each forward. The built-in run's batch norm calls
        // (19 a forward, 19 a backward) give its forwards: those calls / 19, less the 3 training steps' backwards.
        long forwards = ranBuiltIn.path("batchnorm=cpu_direct").asLong() / 19 - 3;
        assertTrue(forwards >= 3, ranBuiltIn.toString());
        assertEquals(addCalls + 9 * forwards, ranUser.path(add).asLong(), ranUser.toString());
        assertFalse(ranUser.has("conv2d=cpu_implicit_gemm") || ranUser.has("binary.add=cpu"), "no call went to the built-in kernels: " + ranUser);
        assertEquals(ranBuiltIn.path("gemm=cpu_sgemm").asLong(), ranUser.path("gemm=cpu_sgemm").asLong(), "the other ops are unchanged");
    }

    /**
     * {@code --device reference} (issue 14 point 6): the run records the reference as the kernel of every op, every call
     * in kernel_calls went to it (fused kernels: their host code), and its parameters after three steps stay within float32
     * rounding of the CPU run's.
     */
    @Test
    void aRunOnTheReferenceDeviceRecordsTheReferenceAndMatchesTheCpu() throws IOException {
        Path data = TinyData.cifar(tmp, Cifar.Variant.CIFAR10, 32, 8, 9);
        Path cpu = tmp.resolve("cpu"), ref = tmp.resolve("reference");
        CliRun a = CliRun.of(new OptLab(), args(data, cpu).toArray(String[]::new));
        assertEquals(0, a.code(), a.err());
        CliRun b = CliRun.of(new OptLab(), args(data, ref, "--device", "reference").toArray(String[]::new));
        assertEquals(0, b.code(), b.err());
        assertTrue(b.out().contains("kernels (reference): gemm=reference, conv2d=reference"), b.out());

        ObjectMapper json = new ObjectMapper();
        JsonNode chosen = json.readTree(ref.resolve("config.json").toFile()).at("/derived/kernels");
        chosen.fields().forEachRemaining(e -> assertEquals("reference", e.getValue().asText(), chosen.toString()));
        JsonNode ran = json.readTree(ref.resolve("result.json").toFile()).get("kernel_calls");
        assertTrue(ran.path("conv2d=reference").asLong() > 0, ran.toString());
        ran.fieldNames().forEachRemaining(k -> assertTrue(k.endsWith("=reference") || (k.startsWith("fused.") && k.endsWith("=host")), ran.toString()));

        float[] x = parameters(cpu.resolve("final.safetensors")), y = parameters(ref.resolve("final.safetensors"));
        assertEquals(x.length, y.length);
        double diff = 0, norm = 0;
        for (int i = 0; i < x.length; i++) {
            diff += (x[i] - (double) y[i]) * (x[i] - (double) y[i]);
            norm += (double) x[i] * x[i];
        }
        assertTrue(Math.sqrt(diff) <= 1e-4 * Math.sqrt(norm), "parameters differ by " + Math.sqrt(diff) + " (norm " + Math.sqrt(norm) + ")");
    }

    /** Every FLOAT32 tensor of a safetensors file, in its order, as one array. */
    private static float[] parameters(Path file) throws IOException {
        try (var r = optlab.nn.io.SafeTensors.open(file)) {
            float[] all = new float[0];
            for (var e : r.tensors().entrySet()) {
                if (e.getValue().dtype() != optlab.nn.io.SafeTensors.Dtype.F32) continue;
                float[] f = r.floats(e.getKey()), c = java.util.Arrays.copyOf(all, all.length + f.length);
                System.arraycopy(f, 0, c, all.length, f.length);
                all = c;
            }
            return all;
        }
    }

    @Test
    void aChoiceTheDeviceCannotRunOrAnUnknownKernelIsRefusedBeforeAnythingRuns() throws IOException {
        Path data = TinyData.cifar(tmp, Cifar.Variant.CIFAR10, 32, 8, 9);
        Path dir = tmp.resolve("refused");
        CliRun cublas = CliRun.of(new OptLab(), args(data, dir, "--kernels", "gemm=cublas").toArray(String[]::new));
        assertEquals(2, cublas.code(), cublas.err());
        assertTrue(cublas.err().contains("gemm=cublas") && cublas.err().contains("not on the cpu backend"), cublas.err());
        CliRun named = CliRun.of(new OptLab(), args(data, dir, "--kernels", "fused.adam_choi=java:" + DelegatingConv.class.getName())
                .toArray(String[]::new));
        assertEquals(2, named.code(), named.err());
        assertTrue(named.err().contains("unknown fused kernel 'adam_choi'"), named.err());
        CliRun wrongFamily = CliRun.of(new OptLab(), args(data, dir, "--kernels", "pool2d=java:" + DelegatingConv.class.getName())
                .toArray(String[]::new));
        assertEquals(2, wrongFamily.code(), wrongFamily.err());
        assertTrue(wrongFamily.err().contains("does not implement optlab.kernels.family.Pool2dKernel"), wrongFamily.err());
        assertFalse(Files.exists(dir.resolve("config.json")), "nothing ran");
    }
}
