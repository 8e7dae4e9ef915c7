package optlab.kernels.vendor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where each cuDNN 9 function is found.
 *
 * <p>NOTE [cudnn9-libraries]: cuDNN 9 is split into sub-libraries (NVIDIA's cuDNN 9 API overview):
 * libcudnn_graph.so.9 (handles, the graph API), libcudnn_ops.so.9 (tensor descriptors, pooling, batch norm,
 * dropout: the legacy "ops"), libcudnn_cnn.so.9 (convolutions), libcudnn_adv.so.9 (RNNs), plus engine
 * libraries; libcudnn.so.9 is a shim that exports the API and loads the sub-library behind each call on first
 * use, by bare soname. Frameworks link the shim only, and NVIDIA documents the legacy sub-libraries as
 * directly usable too. So each symbol is looked up in the shim first and, only if the shim lacks it (a partial
 * or repackaged install), in the sub-libraries, opened from the shim's own directory when it was found by path
 * (else by name, which returns the copy the shim itself loaded, if any). Where every symbol came from is
 * recorded for the report. A sub-library that the shim cannot load at call time shows up as
 * CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED (1008) from the call, named by {@link CudnnArgs#failure}; the fix is
 * to put the directory holding all of cuDNN's libraries on LD_LIBRARY_PATH (bin/gpu-run does).
 *
 * <p>Checked on 2026-11-21 with the real libraries of cuDNN 9.24.0 (pip's nvidia-cudnn-cu13 9.24.0.43) and 9.5.1
 * (Maven Central's org.bytedeco:cuda:12.6-9.5-1.5.11:linux-x86_64-redist jar), by nm and by CudnnLibraryTest:
 * libcudnn.so.9 exports every function Cudnn9 calls (each also lives in one sub-library: handles, versions and
 * error strings in graph, tensor/filter/pooling/batch-norm/dropout in ops, convolutions in cnn, RNNs in adv), so
 * the sub-library fallback is only for repackaged installs. The shim has no NEEDED entry or RUNPATH for its
 * sub-libraries, yet opened by absolute path with LD_LIBRARY_PATH empty it still loaded ops, cnn and adv from its
 * own directory (both versions): the engine's by-path open works without LD_LIBRARY_PATH.
 */
final class CudnnLibraries {
    /** The sub-libraries searched after the shim, in this order. */
    static final List<String> SUBLIBRARIES = List.of("libcudnn_ops.so.9", "libcudnn_cnn.so.9", "libcudnn_adv.so.9",
            "libcudnn_graph.so.9");

    final NativeLibrary shim;
    private final Map<String, NativeLibrary> subs = new LinkedHashMap<>();
    private final Map<String, List<String>> subFailures = new LinkedHashMap<>();
    private final Map<String, String> origin = new TreeMap<>();

    CudnnLibraries(NativeLibrary shim) {
        this.shim = shim;
    }

    private NativeLibrary sub(String soname) {
        if (subs.containsKey(soname)) return subs.get(soname);
        List<String> tried = new ArrayList<>();
        NativeLibrary lib = shim.openSibling(soname, tried);
        subs.put(soname, lib);
        if (lib == null) subFailures.put(soname, tried);
        return lib;
    }

    /** Whether {@code symbol} is in the shim or a sub-library. */
    synchronized boolean has(String symbol) {
        if (shim.has(symbol)) return true;
        for (String s : SUBLIBRARIES) {
            NativeLibrary lib = sub(s);
            if (lib != null && lib.has(symbol)) return true;
        }
        return false;
    }

    /**
     * A downcall handle for {@code symbol} from the shim, else from the first sub-library that has it; throws
     * naming the symbol and every library looked in (and why a sub-library did not open).
     */
    synchronized MethodHandle function(String symbol, FunctionDescriptor descriptor) {
        if (shim.has(symbol)) {
            origin.put(symbol, shim.name);
            return shim.function(symbol, descriptor);
        }
        List<String> looked = new ArrayList<>();
        looked.add(shim.where() + ": no such symbol");
        for (String s : SUBLIBRARIES) {
            NativeLibrary lib = sub(s);
            if (lib == null) {
                looked.add(s + ": did not open (" + String.join("; ", subFailures.get(s)) + ")");
            } else if (lib.has(symbol)) {
                origin.put(symbol, lib.name);
                return lib.function(symbol, descriptor);
            } else {
                looked.add(lib.where() + ": no such symbol");
            }
        }
        throw new IllegalStateException("cuDNN: no library exports " + symbol + "; looked in:\n  " + String.join("\n  ", looked));
    }

    /** "libcudnn.so.9: 40 functions, libcudnn_adv.so.9: 3 (cudnnRNNForward, ...)", for the report. */
    synchronized String origins() {
        Map<String, List<String>> byLib = new TreeMap<>();
        origin.forEach((sym, lib) -> byLib.computeIfAbsent(lib, k -> new ArrayList<>()).add(sym));
        List<String> parts = new ArrayList<>();
        byLib.forEach((lib, syms) -> parts.add(lib + ": " + syms.size() + (lib.equals(shim.name) ? "" : " " + syms)));
        return parts.isEmpty() ? "no functions bound yet" : "functions bound from " + String.join(", ", parts);
    }
}
