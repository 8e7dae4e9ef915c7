package optlab.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import optlab.kernels.Backends;
import optlab.kernels.Device;
import optlab.kernels.KernelChoices;
import optlab.kernels.testkit.Conformance;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's "every example override in the docs is run by a test": every kernel choice written in docs/KERNELS.md and
 * docs/GPU.md (in a code block or inline after --kernels) is parsed and checked against the backend it is written for,
 * with /path/... standing for files this test writes: the Java example class of docs/KERNELS.md (compiled from the
 * doc's own code block), a my.pkg.MyConv, a jar and a classes directory holding them, and empty PTX/cubin/fatbin files
 * (the CUDA ones need a GPU to run; their parsing and checks run here). The CPU ones run: each {@code kernels check}
 * line of the docs passes the conformance kit, and each Java override opens a CPU backend.
 */
class DocsKernelExamplesTest {
    @TempDir
    Path tmp;

    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(package my\\.pkg;.*?)```", Pattern.DOTALL);
    private static final Pattern ENTRY = Pattern.compile("(?<![\\w.])((?:gemm|conv2d|pool2d|batchnorm|softmax_cross_entropy|lstm|embedding"
            + "|unary\\.[a-z_]+|binary\\.[a-z_]+|fused\\.[a-z0-9_]+)=[^\\s`,)\"]+(?:,[a-z0-9_.]+=[^\\s`,)\"]+)*)");

    @AfterEach
    void restore() {
        Backends.open(Device.CPU, KernelChoices.defaults());
    }

    private static String doc(String name) throws IOException {
        return Files.readString(Path.of(System.getProperty("optlab.root", ".."), "docs", name));
    }

    /** Compiles the doc's MyRelu and a MyConv into tmp/classes and packs them into tmp/kernels.jar. */
    private void compileExamples(String kernelsDoc) throws IOException {
        Matcher m = JAVA_BLOCK.matcher(kernelsDoc);
        assertTrue(m.find(), "docs/KERNELS.md has the MyRelu example");
        Path src = tmp.resolve("src/my/pkg");
        Files.createDirectories(src);
        Files.writeString(src.resolve("MyRelu.java"), m.group(1));
        Files.writeString(src.resolve("MyConv.java"), """
                package my.pkg;

                import optlab.kernels.Conv2dGeometry;
                import optlab.kernels.Ptr;
                import optlab.kernels.family.Conv2dKernel;
                import optlab.kernels.reference.ReferenceKernels;

                public final class MyConv implements Conv2dKernel {
                    private final ReferenceKernels.Conv2d ref = new ReferenceKernels.Conv2d();

                    public void forward(Conv2dGeometry g, Ptr x, Ptr w, Ptr y) { ref.forward(g, x, w, y); }

                    public void backwardData(Conv2dGeometry g, Ptr dy, Ptr w, Ptr dx) { ref.backwardData(g, dy, w, dx); }

                    public void backwardFilter(Conv2dGeometry g, Ptr x, Ptr dy, Ptr dw) { ref.backwardFilter(g, x, dy, dw); }
                }
                """);
        Path classes = tmp.resolve("classes");
        Files.createDirectories(classes);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int rc = javac.run(null, null, null, "-d", classes.toString(), "-classpath", System.getProperty("java.class.path"),
                src.resolve("MyRelu.java").toString(), src.resolve("MyConv.java").toString());
        assertEquals(0, rc, "the doc's example compiles");
        try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(tmp.resolve("kernels.jar")));
             Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                jar.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                jar.write(Files.readAllBytes(f));
                jar.closeEntry();
            }
        }
    }

    /** The spec with /path/... replaced by files under tmp (empty GPU kernel files written as needed). */
    private String local(String spec) throws IOException {
        Matcher m = Pattern.compile("/path/([A-Za-z0-9_.]+)").matcher(spec);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String name = m.group(1);
            Path p = name.equals("classes") ? tmp.resolve("classes") : tmp.resolve(name);
            if (name.matches(".*\\.(ptx|cubin|fatbin)")) Files.writeString(p, "// stands for a compiled kernel\n");
            m.appendReplacement(b, Matcher.quoteReplacement(p.toString()));
        }
        m.appendTail(b);
        return b.toString();
    }

    @Test
    void everyKernelOverrideInTheDocsParsesAndTheCpuOnesRun() throws IOException {
        String kernelsDoc = doc("KERNELS.md");
        compileExamples(kernelsDoc);
        List<String> seen = new ArrayList<>();
        for (String name : List.of("KERNELS.md", "GPU.md")) {
            for (String line : doc(name).split("\n")) {
                if (line.contains("| asked |") || line.startsWith("| an unknown") || line.startsWith("| a ")) continue; // refusals' table
                Matcher m = ENTRY.matcher(line);
                while (m.find()) {
                    String spec = local(m.group(1));
                    KernelChoices k = KernelChoices.parse(spec);
                    boolean cuda = line.contains("--device cuda") || k.overrides().stream().anyMatch(c -> c.target() == KernelChoices.Target.CUDA);
                    k.requireRunnableOn(cuda ? KernelChoices.Target.CUDA : KernelChoices.Target.CPU);
                    if (!cuda) Backends.open(Device.CPU, k); // a Java override: its class loads and a CPU backend opens with it
                    if (line.contains("kernels check") && !cuda) {
                        Conformance.Result r = Conformance.check(spec, Device.CPU, line.contains("--seed 3") ? 3 : 0);
                        assertTrue(r.passed(), String.join("\n", r.lines()));
                    }
                    seen.add(name + ": " + m.group(1));
                }
            }
        }
        // the examples this test must have found (so a change to the patterns cannot silently find none)
        for (String must : List.of("conv2d=java:/path/kernels.jar:my.pkg.MyConv", "unary.relu=java:/path/classes:my.pkg.MyRelu",
            "fused.adam_f32=user:/path/adam.ptx:my_adam", "gemm=own_tf32,conv2d=cudnn", "conv2d=cudnn,pool2d=cudnn,batchnorm=cudnn,lstm=cudnn")) {
            assertTrue(seen.stream().anyMatch(s -> s.endsWith(must)), must + " among " + seen);
        }
    }
}
