package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.nn.ParameterArena;
import optlab.optim.Numerics.StatePrecision;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * NOTE [float64-parameters]: the optimizers over a FLOAT64 arena: the kernels they pick, the refusals
 * (float32 state, a device other than the CPU), the non-finite check on float64 gradients, and that the
 * float64 path is the float32-parameter/float64-state math without the rounding of x.
 * (The bit-for-bit agreement with the per-parameter loop is in {@link FusedEqualsLoopTest}.)
 */
class Float64ParametersTest {
    private static OptimizerConfig f64(String preset) {
        OptimizerConfig c = Presets.get(preset);
        return c.rule().hasState() ? c.toBuilder().statePrecision(StatePrecision.FLOAT64).build() : c;
    }

    @Test
    void eachRulePicksItsHostOnlyFloat64Kernel() {
        String[][] expected = {{"choi.sgd", "sgd_f64"}, {"choi.momentum", "momentum_f64"}, {"choi.nesterov", "momentum_f64"},
            {"choi.rmsprop", "rmsprop_f64"}, {"choi.adam", "adam_f64"}, {"choi.nadam", "adam_f64"}, {"pytorch.adamw", "adam_f64"}};
        for (String[] e : expected) {
            try (ParameterArena arena = Fixtures.grouped64(); Optimizer opt = f64(e[0]).create(arena)) {
                FusedKernel k = opt.fusedKernel();
                assertEquals(e[1], k.name(), e[0]);
                assertEquals(null, k.cuda(), e[0] + ": no CUDA function");
                assertEquals(e[1], opt.settings().kernel(), e[0]);
                for (var s : opt.stateTensors().entrySet()) assertEquals(DType.FLOAT64, s.getValue().dtype(), e[0] + " " + s.getKey());
            }
        }
    }

    @Test
    void float32StateWithFloat64ParametersIsRefusedNamingBoth() {
        try (ParameterArena arena = Fixtures.grouped64()) {
            var e = assertThrows(IllegalArgumentException.class, () -> Presets.get("pytorch.adam").create(arena));
            assertEquals("Adam: parameters are FLOAT64 but state_precision is float32; a FLOAT64 arena needs float64 state: "
                    + "set state_precision float64 (Builder.statePrecision(StatePrecision.FLOAT64))", e.getMessage());
        }
    }

    /**
     * The refusal off the CPU, checked without a GPU through the same check the constructor runs (no
     * FLOAT64 arena can be built on a device here). On a device the backend would also refuse the kernel
     * by name, since its cuda() is null: "fused kernel 'adam_f64' has no CUDA implementation ...".
     */
    @Test
    void float64ParametersOffTheCpuAreRefused() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Optimizer.checkParameters("Adam", DType.FLOAT64, Device.cuda(0), StatePrecision.FLOAT64));
        assertEquals("Adam: parameters are FLOAT64 on cuda:0, but FLOAT64 parameters are updated on the CPU only (the float64 kernels "
                + "have no CUDA version): keep a float64 model on the CPU, or train in FLOAT32 with state_precision float64", e.getMessage());
        var i = assertThrows(IllegalArgumentException.class, () -> Optimizer.checkParameters("Sgd", DType.INT32, Device.CPU, null));
        assertEquals("Sgd: parameters are INT32; the update rules run on FLOAT32 or FLOAT64 parameters", i.getMessage());
        Optimizer.checkParameters("Sgd", DType.FLOAT64, Device.CPU, null); // SGD has no state
        Optimizer.checkParameters("Adam", DType.FLOAT32, Device.cuda(0), StatePrecision.FLOAT32);
    }

    @Test
    void aNanGradientInAFloat64ArenaIsFoundAndNamed() {
        try (ParameterArena arena = Fixtures.grouped64(); Optimizer opt = f64("zhuang.adamw").create(arena)) {
            double[] g = new double[arena.size()];
            for (int i = 0; i < g.length; i++) g[i] = 0.01 * (i % 7 - 3);
            arena.grads().copyFrom(Tensor.of(g, g.length));
            assertTrue(opt.step());
            List<double[]> before = snapshot(arena, opt);
            ParameterArena.Entry bias = arena.entries().stream().filter(e -> e.name().equals("1.bias")).findFirst().orElseThrow();
            g[bias.offset() + 2] = Double.NaN;
            g[bias.offset() + 1] = 1e300; // finite in float64 (it would be infinite in float32): not the one reported
            arena.grads().copyFrom(Tensor.of(g, g.length));
            assertFalse(opt.step());
            NonFiniteGradientException r = opt.lastSkipped();
            assertEquals("1.bias", r.parameter());
            assertEquals(2, r.index());
            assertEquals("non-finite gradient at step 2: 1.bias[2] (flat index within the parameter) is NaN; "
                    + "step skipped: weights and optimizer state unchanged", r.getMessage());
            List<double[]> after = snapshot(arena, opt);
            for (int k = 0; k < before.size(); k++) assertArrayEquals(before.get(k), after.get(k), k == 0 ? "weights" : "state " + k);
            assertEquals(1, opt.stepCount());
        }
    }

    @Test
    void aLargeFiniteFloat64GradientIsNotReported() {
        // 1e300 is finite in float64; a check that narrowed to float would call it infinite
        OptimizerConfig c = Presets.builder("choi.sgd").lr(0).nonFiniteGradients(NonFinitePolicy.THROW).build();
        try (ParameterArena arena = Fixtures.grouped64(); Optimizer opt = c.create(arena)) {
            arena.grads().fillInPlace(1e300);
            assertTrue(opt.step());
        }
    }

    /**
     * The float64 math is written once ({@code update}): the float32-parameter kernel with float64
     * state is that math with x rounded to float when stored. So one step from the same float32 x, g and
     * state gives, for float64 parameters, a value that rounds to the float32 kernel's result exactly.
     */
    @Test
    void oneFloat64StepRoundsToTheFloat32ParameterFloat64StateStep() {
        OptimizerConfig c = f64("choi.nadam");
        try (ParameterArena a32 = Fixtures.grouped(Fixtures.twoLayers()); ParameterArena a64 = Fixtures.grouped64();
             Optimizer o32 = c.create(a32); Optimizer o64 = c.create(a64)) {
            assertEquals("adam_f32_f64state", o32.fusedKernel().name());
            assertEquals("adam_f64", o64.fusedKernel().name());
            float[] g = new float[a32.size()];
            for (int i = 0; i < g.length; i++) g[i] = (float) Math.sin(i + 1);
            a32.grads().copyFrom(Tensor.of(g, g.length));
            try (Tensor g64 = Tensor.of(g, g.length).to(DType.FLOAT64)) {
                a64.grads().copyFrom(g64);
            }
            o32.step();
            o64.step();
            float[] x32 = a32.values().toFloatArray();
            double[] x64 = a64.values().toDoubleArray();
            for (int i = 0; i < x32.length; i++) assertEquals(x32[i], (float) x64[i], "x[" + i + "]");
            for (var e : o32.stateTensors().entrySet()) {
                assertArrayEquals(e.getValue().toDoubleArray(), o64.stateTensors().get(e.getKey()).toDoubleArray(), e.getKey());
            }
        }
    }

    private static List<double[]> snapshot(ParameterArena arena, Optimizer opt) {
        List<double[]> s = new ArrayList<>();
        s.add(arena.values().toDoubleArray());
        for (Tensor t : opt.stateTensors().values()) s.add(t.toDoubleArray());
        return s;
    }
}
