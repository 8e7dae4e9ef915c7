package optlab.experiments.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.experiments.bench.ProfilingBackend.Phase;
import optlab.experiments.bench.StepProfiler.Profile;
import optlab.experiments.bench.StepProfiler.Row;
import optlab.kernels.Backends;
import optlab.kernels.Device;
import org.junit.jupiter.api.Test;

/** {@code bin/bench --profile}: a profiled step's families add up to no more than its wall time, and name what ran. */
class StepProfilerTest {
    private static final TorchComparison.Workload TINY_CNN = new TorchComparison.Workload("fmnist_2c2d", "fmnist_2c2d, batch 8, Adam",
            "images/s", 8, 0, 10, "choi.adam");
    private static final TorchComparison.Workload TINY_LSTM = new TorchComparison.Workload("charlstm", "char LSTM, batch 2 x 6, Adam",
            "tokens/s", 2, 6, 83, "choi.adam");

    @Test
    void aConvNetStepShowsConvolutionForwardAndBackwardWithinTheWallTime() {
        Profile p = StepProfiler.profile(TINY_CNN, 1, 1, 2);
        checkAddsUp(p);
        // SimpleCnn: two convolutions; the first one's input needs no gradient, so one backward_data
        Row fwd = p.row(Phase.FORWARD, "conv2d.forward");
        assertNotNull(fwd, p.table());
        assertEquals(2, fwd.callsPerStep(), p.table());
        assertEquals(2, p.row(Phase.BACKWARD, "conv2d.backward_filter").callsPerStep(), p.table());
        assertEquals(1, p.row(Phase.BACKWARD, "conv2d.backward_data").callsPerStep(), p.table());
        assertTrue(fwd.msPerStep() > 0 && p.row(Phase.BACKWARD, "conv2d.backward_filter").msPerStep() > 0, p.table());
        assertNotNull(p.row(Phase.FORWARD, "gemm"), p.table());
        assertNotNull(p.row(Phase.BACKWARD, "gemm"), p.table());
        assertNotNull(p.row(Phase.FORWARD, "softmax_cross_entropy.forward"), p.table());
        assertNotNull(p.row(Phase.BACKWARD, "softmax_cross_entropy.backward"), p.table());
        assertNotNull(p.row(Phase.FORWARD, "allocate"), p.table());
        assertTrue(p.row(Phase.CLEANUP, "free").callsPerStep() > 0, p.table());
        assertTrue(p.families().stream().anyMatch(r -> r.phase().equals("update") && r.family().startsWith("fused.")), p.table());
        // the convolutions are in no other phase
        assertTrue(p.families().stream().noneMatch(r -> r.family().startsWith("conv2d") && r.phase().matches("update|cleanup")), p.table());
        String table = p.table();
        assertTrue(table.contains("conv2d.backward_filter") && table.contains(StepProfiler.OTHER) && table.contains("by family group"), table);
        assertTrue(p.byGroup().stream().anyMatch(r -> r.family().equals("conv2d")), table);
        // the plain backend is back: nothing is timed outside a profile
        assertFalse(Backends.of(Device.CPU) instanceof ProfilingBackend);
    }

    @Test
    void theCharLstmStepShowsItsLayersAndEmbedding() {
        Profile p = StepProfiler.profile(TINY_LSTM, 1, 1, 2);
        checkAddsUp(p);
        assertEquals(2, p.row(Phase.FORWARD, "lstm.forward").callsPerStep(), p.table());
        assertEquals(2, p.row(Phase.BACKWARD, "lstm.backward").callsPerStep(), p.table());
        assertNotNull(p.row(Phase.FORWARD, "embedding.forward"), p.table());
        assertNotNull(p.row(Phase.BACKWARD, "embedding.backward"), p.table());
        assertNotNull(p.row(Phase.FORWARD, "dropout"), p.table());
        assertFalse(Backends.of(Device.CPU) instanceof ProfilingBackend);
    }

    /** Families sum to at most the step's wall time, in each phase and overall; each phase's "other" is not negative. */
    private static void checkAddsUp(Profile p) {
        assertTrue(p.wallMsPerStep() > 0, p.table());
        assertTrue(p.families().size() >= 5, p.table());
        assertTrue(p.kernelMsPerStep() > 0 && p.kernelMsPerStep() <= p.wallMsPerStep(), p.table());
        double phases = 0;
        for (Phase ph : Phase.values()) {
            Row total = p.row(ph, StepProfiler.TOTAL), other = p.row(ph, StepProfiler.OTHER);
            assertTrue(other.msPerStep() >= 0, ph + ": " + p.table());
            double sum = p.families().stream().filter(r -> r.phase().equals(ph.label())).mapToDouble(Row::msPerStep).sum();
            assertEquals(total.msPerStep(), sum + other.msPerStep(), 1e-9, p.table());
            phases += total.msPerStep();
        }
        assertEquals(p.wallMsPerStep(), phases, 1e-9);
        double percent = p.byGroup().stream().mapToDouble(Row::percentOfStep).sum();
        assertEquals(100, percent, 1e-6, p.table());
    }
}
