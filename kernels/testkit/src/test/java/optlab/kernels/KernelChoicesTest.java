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

/** The kernel choices' table, parsing and validation (runs on the CPU; NOTE [kernel-choices]). */
class KernelChoicesTest {
    @TempDir
    Path dir;

    private Path kernelFile(String name) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "// a PTX file would be here\n");
        return p;
    }

    @Test
    void defaultsComeFromTheTable() {
        KernelChoices r = KernelChoices.defaults();
        assertEquals("cpu_sgemm", r.choice("gemm", Device.CPU).variant());
        assertEquals("own_tiled_fp32", r.choice("gemm", Device.cuda(0)).variant());
        assertEquals("own_im2col", r.choice("conv2d", KernelChoices.Target.CUDA).variant());
        assertEquals("own", r.choice("fused.axpy", KernelChoices.Target.CUDA).variant());
        assertEquals("host", r.choice("fused.axpy", KernelChoices.Target.CPU).variant());
        assertTrue(r.choice("gemm", Device.CPU).isDefault());
    }

    @Test
    void anOverrideChangesOnlyItsTargetAndRecordsItsSource() {
        KernelChoices r = KernelChoices.defaults().with("gemm=own_tf32, conv2d=cudnn", "command line");
        assertEquals("own_tf32", r.choice("gemm", KernelChoices.Target.CUDA).variant());
        assertEquals("command line", r.choice("gemm", KernelChoices.Target.CUDA).source());
        assertEquals("cpu_sgemm", r.choice("gemm", KernelChoices.Target.CPU).variant(), "the CPU's choice is untouched");
        assertEquals("cudnn", r.choice("conv2d", KernelChoices.Target.CUDA).variant());
        // later sources win
        KernelChoices later = r.with("gemm=own_naive", "file k.conf");
        assertEquals("own_naive", later.choice("gemm", KernelChoices.Target.CUDA).variant());
        assertEquals("cudnn", later.choice("conv2d", KernelChoices.Target.CUDA).variant());
    }

    @Test
    void anUnknownVariantNamesTheOpAndTheVariantAndListsTheValidOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> KernelChoices.defaults().with("gemm=tiled", "command line"));
        String m = e.getMessage();
        assertTrue(m.contains("op 'gemm' has no variant 'tiled'"), m);
        for (String v : new String[] {"own_tiled_fp32", "own_naive", "own_tf32", "cublas", "cpu_sgemm", "user:FILE:FUNCTION"}) {
            assertTrue(m.contains(v), "lists " + v + ": " + m);
        }
        assertTrue(m.contains("command line"), m);
    }

    @Test
    void anUnknownOpIsNamedAndTheKnownOnesListed() {
        var e = assertThrows(IllegalArgumentException.class, () -> KernelChoices.defaults().with("gemmm=own_naive", "test"));
        assertTrue(e.getMessage().contains("unknown op 'gemmm'"), e.getMessage());
        assertTrue(e.getMessage().contains("gemm, conv2d"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> KernelChoices.defaults().with("gemm own_naive", "test"));
        assertTrue(e2.getMessage().contains("not of the form op=variant"), e2.getMessage());
    }

    @Test
    void userKernelsAreParsedWithTheirBackwardOrForwardOnlyFlag() throws IOException {
        Path f = kernelFile("relu.ptx");
        KernelChoices r = KernelChoices.defaults().with("unary.relu=user:" + f + ":my_relu:backward=my_relu_bwd", "test");
        KernelChoices.Choice c = r.choice("unary.relu", KernelChoices.Target.CUDA);
        assertTrue(c.isUser());
        assertEquals("my_relu", c.user().function());
        assertEquals("my_relu_bwd", c.user().backwardFunction());
        assertFalse(c.user().forwardOnly());
        assertEquals("file:" + f.toAbsolutePath(), c.user().module());

        KernelChoices fo = KernelChoices.defaults().with("unary.exp=user:" + f + ":my_exp:forward-only", "test");
        assertTrue(fo.choice("unary.exp", KernelChoices.Target.CUDA).user().forwardOnly());
        assertNull(fo.choice("unary.exp", KernelChoices.Target.CUDA).user().backwardFunction());
    }

    @Test
    void aUserKernelForAnOpWithADifferentBackwardMustDeclareOne() throws IOException {
        Path f = kernelFile("relu.ptx");
        var e = assertThrows(IllegalArgumentException.class,
                () -> KernelChoices.defaults().with("unary.relu=user:" + f + ":my_relu", "test"));
        assertTrue(e.getMessage().contains(":backward=FUNCTION") && e.getMessage().contains(":forward-only"), e.getMessage());
    }

    @Test
    void aForwardOnlyUserKernelIsRefusedWhereAGradientIsNeeded() throws IOException {
        Path f = kernelFile("k.fatbin");
        KernelChoices r = KernelChoices.defaults().with("unary.tanh=user:" + f + ":my_tanh:forward-only", "file cfg");
        r.checkGradient("unary.tanh", Device.CPU); // the choice is CUDA's: the CPU runs its own kernel
        r.checkGradient("unary.relu", Device.cuda(0)); // built-in kernels always have a backward
        var e = assertThrows(IllegalStateException.class, () -> r.checkGradient("unary.tanh", Device.cuda(0)));
        assertTrue(e.getMessage().contains("my_tanh") && e.getMessage().contains("forward-only")
                && e.getMessage().contains("needs its gradient"), e.getMessage());
    }

    @Test
    void userKernelFilesAndOptionsAreValidated() throws IOException {
        Path ptx = kernelFile("g.ptx");
        var missing = assertThrows(IllegalArgumentException.class,
                () -> KernelChoices.defaults().with("gemm=user:" + dir.resolve("nope.ptx") + ":g", "test"));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        var ext = assertThrows(IllegalArgumentException.class, () -> KernelChoices.defaults().with("gemm=user:" + kernelFile("g.cu") + ":g", "test"));
        assertTrue(ext.getMessage().contains(".ptx, .cubin or .fatbin"), ext.getMessage());
        var bwdOnGemm = assertThrows(IllegalArgumentException.class,
                () -> KernelChoices.defaults().with("gemm=user:" + ptx + ":g:forward-only", "test"));
        assertTrue(bwdOnGemm.getMessage().contains("takes no backward options"), bwdOnGemm.getMessage());
        var badOption = assertThrows(IllegalArgumentException.class, () -> KernelChoices.defaults().with("gemm=user:" + ptx + ":g:speed=11", "test"));
        assertTrue(badOption.getMessage().contains("unknown user-kernel option 'speed=11'"), badOption.getMessage());

        KernelChoices tiled = KernelChoices.defaults().with("gemm=user:" + ptx + ":my_sgemm:tile=128x64:block=256", "test");
        KernelChoices.UserKernel u = tiled.choice("gemm", KernelChoices.Target.CUDA).user();
        assertEquals(128, u.intOption("tileM", 0));
        assertEquals(64, u.intOption("tileN", 0));
        assertEquals(256, u.intOption("block", 0));
        var half = assertThrows(IllegalArgumentException.class, () -> KernelChoices.defaults().with("gemm=user:" + ptx + ":g:tile=64x64", "test"));
        assertTrue(half.getMessage().contains("needs both"), half.getMessage());
    }

    @Test
    void everyFamilyTakesACompiledKernelNamedByAPrefixOrItsOneFunction() throws IOException {
        Path ptx = kernelFile("k.ptx");
        String[][] families = {
            {"conv2d", "my_conv_forward", "my_conv_backward_data", "my_conv_backward_filter"},
            {"pool2d", "my_conv_max_forward", "my_conv_avg_forward", "my_conv_max_backward", "my_conv_avg_backward"},
            {"batchnorm", "my_conv_forward_training", "my_conv_forward_inference", "my_conv_backward"},
            {"softmax_cross_entropy", "my_conv_forward", "my_conv_backward"},
            {"lstm", "my_conv_forward", "my_conv_backward"},
            {"embedding", "my_conv_forward", "my_conv_backward"},
        };
        for (String[] f : families) {
            KernelChoices.Choice c = KernelChoices.parse(f[0] + "=user:" + ptx + ":my_conv:block=128").choice(f[0], KernelChoices.Target.CUDA);
            assertEquals("user", c.variant());
            assertEquals("my_conv", c.user().function());
            assertEquals(128, c.user().intOption("block", 0));
            assertFalse(c.forwardOnly(), f[0] + ": the prefix names its backward functions");
            assertEquals(java.util.List.of(f).subList(1, f.length), KernelChoices.compiledFunctions(f[0], c.user()), f[0]);
            assertTrue(KernelChoices.abi(f[0]).contains("user (CUDA): user:FILE:PREFIX[:forward-only], "), KernelChoices.abi(f[0]));

            KernelChoices.Choice fo = KernelChoices.parse(f[0] + "=user:" + ptx + ":my_conv:forward-only").choice(f[0], KernelChoices.Target.CUDA);
            assertTrue(fo.forwardOnly());
            var forward = KernelChoices.compiledFunctions(f[0], fo.user());
            assertTrue(!forward.isEmpty() && forward.stream().allMatch(n -> n.contains("forward")), f[0] + ": " + forward);

            var bwd = assertThrows(IllegalArgumentException.class,
                    () -> KernelChoices.parse(f[0] + "=user:" + ptx + ":my_conv:backward=b"));
            assertTrue(bwd.getMessage().contains("names its functions by a prefix (PREFIX_") && bwd.getMessage().contains("no backward=FUNCTION"),
                    bwd.getMessage());
            var cpu = assertThrows(IllegalArgumentException.class,
                    () -> KernelChoices.parse(f[0] + "=user:" + ptx + ":my_conv").requireRunnableOn(KernelChoices.Target.CPU));
            assertTrue(cpu.getMessage().contains("java:[JAR_OR_DIR:]CLASS"), cpu.getMessage());
        }
        // the CPU's choices name the CUDA syntax too
        var unknown = assertThrows(IllegalArgumentException.class, () -> KernelChoices.parse("pool2d=tiled"));
        assertTrue(unknown.getMessage().contains("user:FILE:PREFIX[:forward-only] (cuda)"), unknown.getMessage());

        // binary.*: one function, the ABI of elementwise.cu's binary_f32; no backward options (its backward is the same op)
        KernelChoices.Choice add = KernelChoices.parse("binary.add=user:" + ptx + ":my_add").choice("binary.add", KernelChoices.Target.CUDA);
        assertEquals(java.util.List.of("my_add"), KernelChoices.compiledFunctions("binary.add", add.user()));
        assertTrue(KernelChoices.abi("binary.mul").contains("(int op, int n, float* out, const float* a, const float* b, Strided3 st)"),
                KernelChoices.abi("binary.mul"));
        var fo = assertThrows(IllegalArgumentException.class, () -> KernelChoices.parse("binary.add=user:" + ptx + ":my_add:forward-only"));
        assertTrue(fo.getMessage().contains("takes no backward options"), fo.getMessage());
        // unary keeps its own syntax: a function and its backward
        var unary = assertThrows(IllegalArgumentException.class, () -> KernelChoices.parse("unary.relu=user:" + ptx + ":my_relu"));
        assertTrue(unary.getMessage().contains(":backward=FUNCTION"), unary.getMessage());
    }

    @Test
    void fusedKernelsTakeUserReplacementsByTheirRealName() throws IOException {
        Path f = kernelFile("axpy.ptx");
        KernelChoices r = KernelChoices.defaults().with("fused.axpy=user:" + f + ":my_axpy:block=128", "test");
        KernelChoices.Choice c = r.choice("fused.axpy", KernelChoices.Target.CUDA);
        assertEquals("my_axpy", c.user().function());
        assertEquals(128, c.user().intOption("block", 0));
        // the override the old docs showed names no kernel: refused, with the kernels that exist
        var e = assertThrows(IllegalArgumentException.class, () -> KernelChoices.parse("fused.adam_choi=user:" + f + ":my_adam"));
        assertTrue(e.getMessage().contains("unknown fused kernel 'adam_choi'") && e.getMessage().contains("axpy"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> r.choice("fused.", KernelChoices.Target.CUDA));
    }

    @Test
    void aConfigFileIsReadWithComments() throws IOException {
        Path cfg = dir.resolve("kernels.conf");
        Files.writeString(cfg, "# my kernel choices\ngemm = own_naive   # the slow one\n\nconv2d=cudnn\n");
        KernelChoices r = KernelChoices.defaults().withFile(cfg);
        assertEquals("own_naive", r.choice("gemm", KernelChoices.Target.CUDA).variant());
        assertEquals("file " + cfg, r.choice("gemm", KernelChoices.Target.CUDA).source());
        assertEquals("cudnn", r.choice("conv2d", KernelChoices.Target.CUDA).variant());
        var e = assertThrows(IllegalArgumentException.class, () -> KernelChoices.defaults().withFile(dir.resolve("missing.conf")));
        assertTrue(e.getMessage().contains("cannot read config file"), e.getMessage());
    }

    @Test
    void theSummaryAndRecordNameEveryChoiceAndEveryOverride() throws IOException {
        KernelChoices r = KernelChoices.defaults().with("gemm=own_tf32", "command line")
                .with("fused.axpy=user:" + kernelFile("a.ptx") + ":my_axpy", "test");
        String cuda = r.summary(KernelChoices.Target.CUDA);
        assertTrue(cuda.startsWith("kernels (cuda): "), cuda);
        assertTrue(cuda.contains("gemm=own_tf32 [command line]"), cuda);
        assertTrue(cuda.contains("conv2d=own_im2col"), cuda);
        assertTrue(cuda.contains("unary.*=own"), cuda);
        assertTrue(cuda.contains("binary.*=own"), cuda);
        assertTrue(cuda.contains("fused.axpy=user:"), cuda);
        String cpu = r.summary(KernelChoices.Target.CPU);
        assertTrue(cpu.contains("gemm=cpu_sgemm") && !cpu.contains("own_tf32"), cpu);
        assertEquals("own_tf32 [command line]", r.record(KernelChoices.Target.CUDA).get("gemm"));
    }

    @Test
    void everyTableOpHasItsDefaultsAmongItsVariants() {
        for (String op : KernelChoices.ops()) {
            var names = KernelChoices.variants(op).stream().map(KernelChoices.Variant::name).toList();
            assertTrue(names.contains(KernelChoices.defaults().choice(op, KernelChoices.Target.CPU).variant()), op);
            assertTrue(names.contains(KernelChoices.defaults().choice(op, KernelChoices.Target.CUDA).variant()), op);
        }
        assertTrue(KernelChoices.ops().contains("unary.relu"));
        assertTrue(KernelChoices.ops().contains("binary.add"));
        assertTrue(KernelChoices.ops().containsAll(java.util.List.of("conv2d", "pool2d", "batchnorm", "softmax_cross_entropy", "lstm",
                "embedding")));
    }

    @Test
    void aChoiceTheOpenedBackendCannotRunIsRefusedNotIgnored() {
        // the request used to vanish: gemm=cublas on the CPU ran cpu_sgemm and recorded it
        KernelChoices cublas = KernelChoices.parse("gemm=cublas");
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.open(Device.CPU, cublas));
        assertTrue(e.getMessage().contains("gemm=cublas") && e.getMessage().contains("runs on cuda")
                && e.getMessage().contains("cpu_sgemm") && e.getMessage().contains("java:"), e.getMessage());
        KernelChoices java = KernelChoices.parse("gemm=java:" + NaiveGemm.class.getName());
        assertThrows(IllegalArgumentException.class, () -> java.requireRunnableOn(KernelChoices.Target.CUDA));
        java.requireRunnableOn(KernelChoices.Target.CPU);
    }

    @Test
    void javaKernelsAreLoadedCheckedAndInstantiatedOnce() throws IOException {
        KernelChoices.Choice c = KernelChoices.parse("gemm=java:" + NaiveGemm.class.getName()).choice("gemm", KernelChoices.Target.CPU);
        assertEquals("java", c.variant());
        assertTrue(c.java().instance() instanceof NaiveGemm);
        assertEquals("gemm=java:" + NaiveGemm.class.getName(), c.toString());
        var notFound = assertThrows(IllegalArgumentException.class, () -> KernelChoices.parse("gemm=java:no.such.Gemm"));
        assertTrue(notFound.getMessage().contains("cannot load class 'no.such.Gemm'"), notFound.getMessage());
        var wrongFamily = assertThrows(IllegalArgumentException.class, () -> KernelChoices.parse("conv2d=java:" + NaiveGemm.class.getName()));
        assertTrue(wrongFamily.getMessage().contains("does not implement optlab.kernels.family.Conv2dKernel"), wrongFamily.getMessage());
        var missingJar = assertThrows(IllegalArgumentException.class,
                () -> KernelChoices.parse("gemm=java:" + dir.resolve("none.jar") + ":my.Gemm"));
        assertTrue(missingJar.getMessage().contains("does not exist"), missingJar.getMessage());
        var noBackward = assertThrows(IllegalArgumentException.class,
                () -> KernelChoices.parse("gemm=java:" + NaiveGemm.class.getName() + ":forward-only"));
        assertTrue(noBackward.getMessage().contains("takes no backward options"), noBackward.getMessage());
    }

    /** A deliberately plain GEMM for these tests (only what the test needs: no batches, no transposes). */
    public static final class NaiveGemm implements optlab.kernels.family.GemmKernel {
        @Override
        public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Ptr a, int lda, Ptr b, int ldb, double beta,
                         Ptr c, int ldc, int batch, int strideA, int strideB, int strideC) {
            throw new UnsupportedOperationException("not called in this test");
        }
    }
}
