package optlab.kernels.cuda;

/**
 * How the backend launches its grid-stride kernels: threads per block and the most blocks per launch, plus
 * knobs that force one variant of the kernels that have several, so tests can check every variant at
 * every configuration (DESIGN.md: "check every variant at every launch configuration before timing it").
 *
 * <p>Defaults come from {@code -Doptlab.cuda.block} (256) and {@code -Doptlab.cuda.maxBlocks} (32 per SM).
 * {@link CudaBackend#withLaunch} returns a backend that launches with another configuration.
 *
 * @param block      threads per block for every kernel without a fixed block size, 1..1024
 * @param maxBlocks  the most blocks of a 1-D launch (grid-stride loops cover the rest); 1 forces one block
 * @param reduce     which reduction kernel {@code reduce}/{@code argmax} use
 * @param gemmGrid   if > 0, caps each dimension of the tiled GEMM grids (their grid-stride loops over tiles
 *                   cover the rest); 0 launches one block per tile
 * @param gemmTiles  which tile kernel the own tiled FP32 GEMM variants use (own_tiled_fp32, own_tiled_fp32_v2)
 */
public record LaunchConfig(int block, int maxBlocks, Reduce reduce, int gemmGrid, GemmTiles gemmTiles) {
    /** Reduction kernel choice: by shape, or one forced (see reduce.cu). */
    public enum Reduce { AUTO, ROWS, COLS }

    /**
     * Tile kernel of the own tiled FP32 GEMMs: by problem size (128x128 tiles where they fill the GPU, else 64x64),
     * or one forced, so that tests run the 128x128 kernels at small sizes too (see gemm.cu).
     */
    public enum GemmTiles { AUTO, LARGE, SMALL }

    /** A configuration that picks the GEMM tiles by problem size. */
    public LaunchConfig(int block, int maxBlocks, Reduce reduce, int gemmGrid) {
        this(block, maxBlocks, reduce, gemmGrid, GemmTiles.AUTO);
    }

    public LaunchConfig {
        if (block < 1 || block > 1024) throw new IllegalArgumentException("launch config: block must be in [1, 1024], got " + block);
        if (maxBlocks < 1) throw new IllegalArgumentException("launch config: maxBlocks must be >= 1, got " + maxBlocks);
        if (gemmGrid < 0) throw new IllegalArgumentException("launch config: gemmGrid must be >= 0, got " + gemmGrid);
        java.util.Objects.requireNonNull(gemmTiles, "launch config: gemmTiles");
    }

    /** The configuration from the system properties, for a device with {@code sms} multiprocessors. */
    static LaunchConfig defaults(int sms) {
        return new LaunchConfig(Integer.getInteger("optlab.cuda.block", 256),
                Integer.getInteger("optlab.cuda.maxBlocks", Math.max(1, sms) * 32), Reduce.AUTO, 0);
    }

    public LaunchConfig withBlock(int b) {
        return new LaunchConfig(b, maxBlocks, reduce, gemmGrid, gemmTiles);
    }

    public LaunchConfig withMaxBlocks(int m) {
        return new LaunchConfig(block, m, reduce, gemmGrid, gemmTiles);
    }

    public LaunchConfig withReduce(Reduce r) {
        return new LaunchConfig(block, maxBlocks, r, gemmGrid, gemmTiles);
    }

    public LaunchConfig withGemmGrid(int g) {
        return new LaunchConfig(block, maxBlocks, reduce, g, gemmTiles);
    }

    public LaunchConfig withGemmTiles(GemmTiles t) {
        return new LaunchConfig(block, maxBlocks, reduce, gemmGrid, t);
    }

    @Override
    public String toString() {
        return "block=" + block + " maxBlocks=" + maxBlocks + " reduce=" + reduce + (gemmGrid > 0 ? " gemmGrid=" + gemmGrid : "")
                + (gemmTiles != GemmTiles.AUTO ? " gemmTiles=" + gemmTiles : "");
    }
}
