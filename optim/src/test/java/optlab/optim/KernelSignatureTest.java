package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import optlab.kernels.DType;
import org.junit.jupiter.api.Test;

/**
 * The registry against the CUDA sources (NOTE [rule-kernels] in {@link UpdateKernels}, NOTE [kernel-args] in
 * {@link RuleKernel}): every {@code extern "C"} kernel of {@code kernels/cuda/src/main/cuda/optim_*.cu} is a registered
 * kernel of that module, and every registered kernel with a CUDA version is one, with the signature
 * {@code (int n, pointers..., double scalars...)}: one pointer per operand, of its element type, {@code const}
 * exactly when the kernel does not write it, named as the operand; then one double per scalar of the rule's
 * {@code Args} record, named as its components, in their order. Runs without nvcc or a GPU: it reads the sources.
 */
class KernelSignatureTest {
    private static final Path CUDA = Path.of("../kernels/cuda/src/main/cuda");
    /** {@code extern "C" __global__ void [MACROS] name(params)}; launch-bound macros such as OPTLAB_ANY_BLOCK are skipped. */
    private static final Pattern KERNEL = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(?:[A-Z_]+\\s+)*(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern POINTER = Pattern.compile("(const )?(float|double)\\* (\\w+)");

    /** A parsed signature: module, pointer parameters, scalar names. */
    private record Signature(String module, List<RuleKernel.Operand> pointers, List<String> scalars) {}

    private static Map<String, Signature> cudaKernels() throws IOException {
        Map<String, Signature> out = new LinkedHashMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(CUDA)) {
            files = s.filter(p -> p.getFileName().toString().matches("optim_\\w+\\.cu")).sorted().toList();
        }
        assertTrue(files.size() >= 3, "optim_*.cu files under " + CUDA.toAbsolutePath());
        for (Path f : files) {
            String module = f.getFileName().toString().replace(".cu", "");
            Matcher m = KERNEL.matcher(Files.readString(f));
            while (m.find()) {
                List<String> params = List.of(m.group(2).trim().split("\\s*,\\s*"));
                String where = module + ".cu " + m.group(1);
                assertEquals("int n", params.get(0).replaceAll("\\s+", " "), where + ": first parameter");
                List<RuleKernel.Operand> pointers = new ArrayList<>();
                List<String> scalars = new ArrayList<>();
                for (String p : params.subList(1, params.size())) {
                    p = p.replaceAll("\\s+", " ");
                    Matcher pm = POINTER.matcher(p);
                    if (pm.matches()) {
                        assertTrue(scalars.isEmpty(), where + ": pointer " + p + " after a scalar");
                        DType dtype = pm.group(2).equals("float") ? DType.FLOAT32 : DType.FLOAT64;
                        pointers.add(new RuleKernel.Operand(pm.group(3), dtype, pm.group(1) == null));
                    } else {
                        assertTrue(p.matches("double \\w+"), where + ": parameter '" + p + "' is neither a pointer nor a double");
                        scalars.add(p.substring("double ".length()));
                    }
                }
                assertNull(out.put(m.group(1), new Signature(module, pointers, scalars)), where + " defined twice");
            }
        }
        return out;
    }

    /** The scalar names of an arguments record, in order: nested components named outer + Inner (NOTE [kernel-args]). */
    static List<String> scalarNames(Class<? extends Record> type) {
        List<String> names = new ArrayList<>();
        for (RecordComponent c : type.getRecordComponents()) {
            if (!c.getType().isRecord()) {
                names.add(c.getName());
                continue;
            }
            for (String n : scalarNames(c.getType().asSubclass(Record.class))) {
                names.add(c.getName() + Character.toUpperCase(n.charAt(0)) + n.substring(1));
            }
        }
        return names;
    }

    @Test
    void everyRegisteredKernelMatchesItsExternCSignature() throws IOException {
        Map<String, Signature> cuda = cudaKernels();
        int withCuda = 0;
        for (RuleKernel<?> k : UpdateKernels.all()) {
            if (k.module == null) {
                assertTrue(k.name().endsWith("_f64"), k.name() + ": only the float64 kernels are host-only");
                continue;
            }
            withCuda++;
            Signature s = cuda.get(k.name());
            assertNotNull(s, k.name() + ": no extern \"C\" kernel of that name in optim_*.cu");
            assertEquals(k.module, s.module(), k.name() + ": module");
            assertEquals(k.operands, s.pointers(), k.name() + ": pointer parameters (name, element type, written = not const)");
            assertEquals(scalarNames(k.argsType), s.scalars(), k.name() + ": scalars, against " + k.argsType.getName());
        }
        assertEquals(14, withCuda, "CUDA kernels registered");
    }

    @Test
    void everyExternCKernelIsRegistered() throws IOException {
        for (var e : cudaKernels().entrySet()) {
            assertTrue(UpdateKernels.kernelNames().contains(e.getKey()), e.getValue().module() + ".cu: " + e.getKey() + " is not in UpdateKernels");
            assertEquals(e.getValue().module(), UpdateKernels.registered(e.getKey()).module, e.getKey());
        }
    }

    /** The arguments round-trip through the kernel scalars, nested weight-decay record included. */
    @Test
    void argsRoundTripThroughTheirScalars() {
        Adam.Args a = new Adam.Args(1e-3, 0.9, 0.1, 0.999, 1e-3, 1e-8, 0.5, true, false, new WeightDecay.Args(WeightDecay.PROXIMAL, 0, 1.25));
        double[] s = RuleKernel.scalars(a);
        assertEquals(List.of(1e-3, 0.9, 0.1, 0.999, 1e-3, 1e-8, 0.5, 1.0, 0.0, 3.0, 0.0, 1.25), java.util.Arrays.stream(s).boxed().toList());
        assertEquals(a, RuleKernel.args(Adam.Args.class, s));
        assertEquals(List.of("step", "beta1", "oneMinusBeta1", "beta2", "oneMinusBeta2", "eps", "d", "epsInside", "nadam", "wdMode",
                "wdL2", "wdFactor"), scalarNames(Adam.Args.class));
    }

    /** The public list: every step and update kernel of every precision, by its real name. */
    @Test
    void kernelNamesListEveryKernel() {
        List<String> names = UpdateKernels.kernelNames();
        assertEquals(22, names.size(), names.toString());
        assertEquals("sgd_f32", names.get(0));
        assertTrue(names.containsAll(List.of("adam_f32", "adam_f32_f64state", "adam_f64", "adam_update_f32", "adam_update_f32_f64state",
                "adam_update_f64", "momentum_update_f32_f64state", "rmsprop_f64", "sgd_update_f64")), names.toString());
        assertEquals("adam_f32", UpdateKernels.kernel("adam_f32").name());
    }
}
