package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.Device;
import optlab.kernels.FusedKernel;
import optlab.kernels.KernelChoices;
import optlab.nn.ParameterArena;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An optimizer's fused kernel replaced by a user's Java kernel, by its real name ({@code fused.adam_f32}): the
 * optimizer runs it for every step and the backend counts it, and a name that is no kernel (the {@code fused.adam_choi}
 * the docs once showed) is refused with the real names, which come from this module's catalog.
 */
class UserFusedKernelTest {
    /** Adam's f32 step with the update halved: a different rule, to see that it is what ran. */
    public static final class HalfAdam implements FusedKernel {
        private final FusedKernel adam = UpdateKernels.kernel("adam_f32");

        @Override
        public String name() {
            return "half_adam";
        }

        @Override
        public void runHost(HostOperands ops, double[] scalars, int from, int to) {
            double[] half = scalars.clone();
            half[0] /= 2; // Adam.Args' first component: the step size s
            adam.runHost(ops, half, from, to);
        }
    }

    @AfterEach
    void restore() {
        Backends.open(Device.CPU, KernelChoices.defaults());
    }

    private static float[] train(OptimizerConfig config) {
        try (ParameterArena arena = Fixtures.grouped(Fixtures.twoLayers()); Optimizer opt = config.create(arena)) {
            SplittableRandom r = new SplittableRandom(3);
            int n = arena.size();
            for (int t = 0; t < 5; t++) {
                float[] g = new float[n];
                for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian();
                arena.grads().copyFrom(Tensor.of(g, n));
                assertTrue(opt.step());
            }
            return arena.values().toFloatArray();
        }
    }

    @Test
    void aJavaKernelReplacesAnOptimizersFusedKernelByItsRealName() {
        OptimizerConfig adam = Presets.builder("pytorch.adam").lr(1e-2).build();
        float[] builtIn = train(adam);
        OptimizerConfig halfLr = Presets.builder("pytorch.adam").lr(5e-3).build();
        float[] expected = train(halfLr);

        Backend be = Backends.open(Device.CPU, KernelChoices.parse("fused.adam_f32=java:" + HalfAdam.class.getName()));
        float[] user = train(adam);
        assertArrayEquals(expected, user, "the user kernel (Adam at half the step size) is what ran");
        assertTrue(!java.util.Arrays.equals(builtIn, user));
        // one launch per parameter group (two: decay and no_decay) per step, and none of the built-in adam_f32
        var calls = be.kernelCalls().snapshot();
        assertEquals(10L, calls.get("fused.adam_f32=java:" + HalfAdam.class.getName()), calls.toString());
        assertTrue(calls.keySet().stream().noneMatch(k -> k.startsWith("fused.adam_f32=host")), calls.toString());
    }

    @Test
    void fusedKernelNamesComeFromTheOptimizersCatalog() {
        assertTrue(KernelChoices.fusedKernelNames().containsAll(UpdateKernels.kernelNames()), KernelChoices.fusedKernelNames().toString());
        var e = assertThrows(IllegalArgumentException.class, () -> KernelChoices.parse("fused.adam_choi=java:" + HalfAdam.class.getName()));
        assertTrue(e.getMessage().contains("unknown fused kernel 'adam_choi'") && e.getMessage().contains("adam_f32"), e.getMessage());
    }
}
