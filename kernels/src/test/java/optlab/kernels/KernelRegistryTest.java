package optlab.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kernel registry's table, parsing and validation (runs on the CPU; NOTE [kernel-registry]). */
class KernelRegistryTest {
    @TempDir
    Path dir;

    private Path kernelFile(String name) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "// a PTX file would be here\n");
        return p;
    }

    @Test
    void defaultsComeFromTheTable() {
        KernelRegistry r = KernelRegistry.defaults();
        assertEquals("cpu_sgemm", r.choice("gemm", Device.CPU).variant());
        assertEquals("own_tiled_fp32", r.choice("gemm", Device.cuda(0)).variant());
        assertEquals("own_im2col", r.choice("conv2d", KernelRegistry.Target.CUDA).variant());
        assertEquals("own", r.choice("fused.adam_choi", KernelRegistry.Target.CUDA).variant());
        assertEquals("host", r.choice("fused.adam_choi", KernelRegistry.Target.CPU).variant());
        assertTrue(r.choice("gemm", Device.CPU).isDefault());
    }

    @Test
    void anOverrideChangesOnlyItsTargetAndRecordsItsSource() {
        KernelRegistry r = KernelRegistry.defaults().with("gemm=own_tf32, conv2d=cudnn", "command line");
        assertEquals("own_tf32", r.choice("gemm", KernelRegistry.Target.CUDA).variant());
        assertEquals("command line", r.choice("gemm", KernelRegistry.Target.CUDA).source());
        assertEquals("cpu_sgemm", r.choice("gemm", KernelRegistry.Target.CPU).variant(), "the CPU's choice is untouched");
        assertEquals("cudnn", r.choice("conv2d", KernelRegistry.Target.CUDA).variant());
        // later sources win
        KernelRegistry later = r.with("gemm=own_naive", "-Doptlab.kernels");
        assertEquals("own_naive", later.choice("gemm", KernelRegistry.Target.CUDA).variant());
        assertEquals("cudnn", later.choice("conv2d", KernelRegistry.Target.CUDA).variant());
    }

    @Test
    void anUnknownVariantNamesTheOpAndTheVariantAndListsTheValidOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> KernelRegistry.defaults().with("gemm=tiled", "command line"));
        String m = e.getMessage();
        assertTrue(m.contains("op 'gemm' has no variant 'tiled'"), m);
        for (String v : new String[] {"own_tiled_fp32", "own_naive", "own_tf32", "cublas", "cpu_sgemm", "user:FILE:FUNCTION"}) {
            assertTrue(m.contains(v), "lists " + v + ": " + m);
        }
        assertTrue(m.contains("command line"), m);
    }

    @Test
    void anUnknownOpIsNamedAndTheKnownOnesListed() {
        var e = assertThrows(IllegalArgumentException.class, () -> KernelRegistry.defaults().with("gemmm=own_naive", "test"));
        assertTrue(e.getMessage().contains("unknown op 'gemmm'"), e.getMessage());
        assertTrue(e.getMessage().contains("gemm, conv2d"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> KernelRegistry.defaults().with("gemm own_naive", "test"));
        assertTrue(e2.getMessage().contains("not of the form op=variant"), e2.getMessage());
    }

    @Test
    void userKernelsAreParsedWithTheirBackwardOrForwardOnlyFlag() throws IOException {
        Path f = kernelFile("relu.ptx");
        KernelRegistry r = KernelRegistry.defaults().with("unary.relu=user:" + f + ":my_relu:backward=my_relu_bwd", "test");
        KernelRegistry.Choice c = r.choice("unary.relu", KernelRegistry.Target.CUDA);
        assertTrue(c.isUser());
        assertEquals("my_relu", c.user().function());
        assertEquals("my_relu_bwd", c.user().backwardFunction());
        assertFalse(c.user().forwardOnly());
        assertEquals("file:" + f.toAbsolutePath(), c.user().module());

        KernelRegistry fo = KernelRegistry.defaults().with("unary.exp=user:" + f + ":my_exp:forward-only", "test");
        assertTrue(fo.choice("unary.exp", KernelRegistry.Target.CUDA).user().forwardOnly());
        assertNull(fo.choice("unary.exp", KernelRegistry.Target.CUDA).user().backwardFunction());
    }

    @Test
    void aUserKernelForAnOpWithADifferentBackwardMustDeclareOne() throws IOException {
        Path f = kernelFile("relu.ptx");
        var e = assertThrows(IllegalArgumentException.class,
                () -> KernelRegistry.defaults().with("unary.relu=user:" + f + ":my_relu", "test"));
        assertTrue(e.getMessage().contains(":backward=FUNCTION") && e.getMessage().contains(":forward-only"), e.getMessage());
    }

    @Test
    void aForwardOnlyUserKernelIsRefusedWhereAGradientIsNeeded() throws IOException {
        Path f = kernelFile("k.fatbin");
        KernelRegistry r = KernelRegistry.defaults().with("unary.tanh=user:" + f + ":my_tanh:forward-only", "file cfg");
        r.checkGradient("unary.tanh", Device.CPU); // the CPU runs its own kernel: nothing to refuse
        r.checkGradient("unary.relu", Device.cuda(0)); // built-in kernels always have a backward
        var e = assertThrows(IllegalStateException.class, () -> r.checkGradient("unary.tanh", Device.cuda(0)));
        assertTrue(e.getMessage().contains("my_tanh") && e.getMessage().contains("forward-only")
                && e.getMessage().contains("needs its gradient"), e.getMessage());
    }

    @Test
    void userKernelFilesAndOptionsAreValidated() throws IOException {
        Path ptx = kernelFile("g.ptx");
        var missing = assertThrows(IllegalArgumentException.class,
                () -> KernelRegistry.defaults().with("gemm=user:" + dir.resolve("nope.ptx") + ":g", "test"));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        var ext = assertThrows(IllegalArgumentException.class, () -> KernelRegistry.defaults().with("gemm=user:" + kernelFile("g.cu") + ":g", "test"));
        assertTrue(ext.getMessage().contains(".ptx, .cubin or .fatbin"), ext.getMessage());
        var noUsers = assertThrows(IllegalArgumentException.class, () -> KernelRegistry.defaults().with("conv2d=user:" + ptx + ":c", "test"));
        assertTrue(noUsers.getMessage().contains("does not take user kernels") && noUsers.getMessage().contains("gemm"), noUsers.getMessage());
        var bwdOnGemm = assertThrows(IllegalArgumentException.class,
                () -> KernelRegistry.defaults().with("gemm=user:" + ptx + ":g:forward-only", "test"));
        assertTrue(bwdOnGemm.getMessage().contains("takes no backward options"), bwdOnGemm.getMessage());
        var badOption = assertThrows(IllegalArgumentException.class, () -> KernelRegistry.defaults().with("gemm=user:" + ptx + ":g:speed=11", "test"));
        assertTrue(badOption.getMessage().contains("unknown user-kernel option 'speed=11'"), badOption.getMessage());

        KernelRegistry tiled = KernelRegistry.defaults().with("gemm=user:" + ptx + ":my_sgemm:tile=128x64:block=256", "test");
        KernelRegistry.UserKernel u = tiled.choice("gemm", KernelRegistry.Target.CUDA).user();
        assertEquals(128, u.intOption("tileM", 0));
        assertEquals(64, u.intOption("tileN", 0));
        assertEquals(256, u.intOption("block", 0));
        var half = assertThrows(IllegalArgumentException.class, () -> KernelRegistry.defaults().with("gemm=user:" + ptx + ":g:tile=64x64", "test"));
        assertTrue(half.getMessage().contains("needs both"), half.getMessage());
    }

    @Test
    void fusedKernelsTakeUserReplacements() throws IOException {
        Path f = kernelFile("adam.ptx");
        KernelRegistry r = KernelRegistry.defaults().with("fused.adam_choi=user:" + f + ":my_adam:block=128", "test");
        KernelRegistry.Choice c = r.choice("fused.adam_choi", KernelRegistry.Target.CUDA);
        assertEquals("my_adam", c.user().function());
        assertEquals(128, c.user().intOption("block", 0));
        assertThrows(IllegalArgumentException.class, () -> r.choice("fused.", KernelRegistry.Target.CUDA));
    }

    @Test
    void aConfigFileIsReadWithComments() throws IOException {
        Path cfg = dir.resolve("kernels.conf");
        Files.writeString(cfg, "# my kernel choices\ngemm = own_naive   # the slow one\n\nconv2d=cudnn\n");
        KernelRegistry r = KernelRegistry.defaults().withFile(cfg);
        assertEquals("own_naive", r.choice("gemm", KernelRegistry.Target.CUDA).variant());
        assertEquals("file " + cfg, r.choice("gemm", KernelRegistry.Target.CUDA).source());
        assertEquals("cudnn", r.choice("conv2d", KernelRegistry.Target.CUDA).variant());
        var e = assertThrows(IllegalArgumentException.class, () -> KernelRegistry.defaults().withFile(dir.resolve("missing.conf")));
        assertTrue(e.getMessage().contains("cannot read config file"), e.getMessage());
    }

    @Test
    void theSummaryAndRecordNameEveryChoiceAndEveryOverride() throws IOException {
        KernelRegistry r = KernelRegistry.defaults().with("gemm=own_tf32", "command line")
                .with("fused.adam_choi=user:" + kernelFile("a.ptx") + ":my_adam", "test");
        String cuda = r.summary(Device.cuda(0));
        assertTrue(cuda.startsWith("kernels (cuda): "), cuda);
        assertTrue(cuda.contains("gemm=own_tf32 [command line]"), cuda);
        assertTrue(cuda.contains("conv2d=own_im2col"), cuda);
        assertTrue(cuda.contains("unary.*=own"), cuda);
        assertTrue(cuda.contains("fused.adam_choi=user:"), cuda);
        String cpu = r.summary(Device.CPU);
        assertTrue(cpu.contains("gemm=cpu_sgemm") && !cpu.contains("own_tf32"), cpu);
        assertEquals("own_tf32 [command line]", r.record(Device.cuda(0)).get("gemm"));
    }

    @Test
    void everyTableOpHasItsDefaultsAmongItsVariants() {
        for (String op : KernelRegistry.ops()) {
            var names = KernelRegistry.variants(op).stream().map(KernelRegistry.Variant::name).toList();
            assertTrue(names.contains(KernelRegistry.defaults().choice(op, KernelRegistry.Target.CPU).variant()), op);
            assertTrue(names.contains(KernelRegistry.defaults().choice(op, KernelRegistry.Target.CUDA).variant()), op);
        }
        assertTrue(KernelRegistry.ops().contains("unary.relu"));
    }
}
