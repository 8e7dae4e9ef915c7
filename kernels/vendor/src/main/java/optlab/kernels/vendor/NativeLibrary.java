package optlab.kernels.vendor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A shared library opened through Java's foreign-function API (java.lang.foreign, final since JDK 22), for
 * the vendor libraries whose JCuda bindings cannot load on the GPU machines (NOTE [vendor-ffm] in
 * {@link VendorLibraries}). Needs {@code --enable-native-access=ALL-UNNAMED} (in optlab.jvmArgs).
 */
public final class NativeLibrary {
    final String name;
    final Path path; // null when found by the dynamic linker's own search
    private final SymbolLookup lookup;

    private NativeLibrary(String name, Path path, SymbolLookup lookup) {
        this.name = name;
        this.path = path;
        this.lookup = lookup;
    }

    /**
     * Opens the first of {@code sonames} that loads: first by name (the dynamic linker searches
     * LD_LIBRARY_PATH and the system paths), then in {@link #searchDirectories(String...)}. Returns null and
     * appends one line per attempt to {@code tried} when none does.
     */
    static NativeLibrary open(List<String> sonames, List<Path> dirs, List<String> tried) {
        for (String soname : sonames) {
            try {
                return new NativeLibrary(soname, null, SymbolLookup.libraryLookup(soname, Arena.global()));
            } catch (IllegalArgumentException e) {
                tried.add(soname + " by name (LD_LIBRARY_PATH, ld.so.cache): " + e.getMessage());
            }
            for (Path dir : dirs) {
                Path p = dir.resolve(soname);
                if (!Files.exists(p)) continue;
                try {
                    return new NativeLibrary(soname, p, SymbolLookup.libraryLookup(p, Arena.global()));
                } catch (IllegalArgumentException e) {
                    tried.add(p + ": exists but does not load: " + e.getMessage());
                }
            }
        }
        tried.add("not in any of: " + dirs);
        return null;
    }

    /**
     * Opens the library at {@code file} (a path, not a name: no search); throws IllegalArgumentException, with the
     * dynamic linker's reason, when it does not load. CudnnLibraryTest uses it to bind the cuDNN it is given.
     */
    static NativeLibrary at(Path file) {
        return new NativeLibrary(file.getFileName().toString(), file, SymbolLookup.libraryLookup(file, Arena.global()));
    }

    /**
     * Where NVIDIA's libraries live besides the linker's path: the CUDA toolkit, and the pip wheels of
     * PyTorch (site-packages/nvidia/SUBDIR/lib for each subdir given, plus nvidia/cu13/lib), in every
     * site-packages found under the usual prefixes and {@code $OPTLAB_PYTHON_SITE}.
     */
    static List<Path> searchDirectories(String... wheelSubdirs) {
        Set<Path> dirs = new LinkedHashSet<>();
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String d : ld.split(":")) if (!d.isBlank()) dirs.add(Path.of(d));
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        List<Path> sites = new ArrayList<>();
        String site = System.getenv("OPTLAB_PYTHON_SITE");
        if (site != null) for (String d : site.split(":")) if (!d.isBlank()) sites.add(Path.of(d));
        for (String prefix : new String[] {"/usr/lib", "/usr/local/lib", "/opt/conda/lib", "/opt/torch/.venv/lib",
                System.getProperty("user.home") + "/.local/lib"}) {
            sites.addAll(glob(Path.of(prefix), "python3*", "site-packages"));
            sites.addAll(glob(Path.of(prefix), "python3*", "dist-packages"));
        }
        for (Path s : sites) {
            for (String sub : wheelSubdirs) dirs.add(s.resolve("nvidia").resolve(sub).resolve("lib"));
            dirs.add(s.resolve("nvidia").resolve("cu13").resolve("lib"));
        }
        List<Path> existing = new ArrayList<>();
        for (Path d : dirs) if (Files.isDirectory(d)) existing.add(d);
        return existing;
    }

    private static List<Path> glob(Path dir, String pattern, String child) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, pattern)) {
            for (Path p : ds) if (Files.isDirectory(p.resolve(child))) out.add(p.resolve(child));
        } catch (IOException e) {
            // an unreadable directory is simply not searched
        }
        return out;
    }

    /**
     * Opens {@code soname} next to this library (same directory) when this one was found by path, else by name
     * through the dynamic linker (which returns the copy already loaded, if any, so a library and the libraries it
     * loads itself stay one copy). Returns null and appends one line per attempt to {@code tried} when it cannot.
     */
    NativeLibrary openSibling(String soname, List<String> tried) {
        if (path != null) {
            Path p = path.resolveSibling(soname);
            if (Files.exists(p)) {
                try {
                    return new NativeLibrary(soname, p, SymbolLookup.libraryLookup(p, Arena.global()));
                } catch (IllegalArgumentException e) {
                    tried.add(p + ": exists but does not load: " + e.getMessage());
                }
            } else {
                tried.add(p + ": no such file");
            }
        }
        try {
            return new NativeLibrary(soname, null, SymbolLookup.libraryLookup(soname, Arena.global()));
        } catch (IllegalArgumentException e) {
            tried.add(soname + " by name (LD_LIBRARY_PATH, ld.so.cache): " + e.getMessage());
        }
        return null;
    }

    /** A downcall handle for {@code symbol}; throws naming the library when the symbol is missing. */
    MethodHandle function(String symbol, FunctionDescriptor descriptor) {
        MemorySegment address = lookup.find(symbol).orElseThrow(() -> new IllegalStateException(
                where() + " has no symbol " + symbol));
        return Linker.nativeLinker().downcallHandle(address, descriptor);
    }

    boolean has(String symbol) {
        return lookup.find(symbol).isPresent();
    }

    String where() {
        return path != null ? path.toString() : name + " (found by the dynamic linker)";
    }

    /** One line on why a library did not load: the exception and the loader's own reasons, without its stack. */
    public static String summarize(Throwable e) {
        String m = String.valueOf(e.getMessage());
        List<String> why = new ArrayList<>();
        for (String line : m.split("\n")) {
            String t = line.strip();
            if ((t.contains("cannot open shared object file") || t.contains("No resource found") || t.contains("version `")
                    || t.contains("undefined symbol") || t.contains("wrong ELF")) && !why.contains(t)) why.add(t);
        }
        String first = m.lines().findFirst().orElse("").strip();
        return e.getClass().getSimpleName() + ": " + (why.isEmpty() ? first : first + ": " + String.join("; ", why));
    }
}
