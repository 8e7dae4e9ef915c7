package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import optlab.optim.Numerics.DecayConvention;
import optlab.optim.Numerics.StatePrecision;
import optlab.optim.Numerics.WeightDecayMode;
import optlab.optim.OptimizerConfig;
import optlab.optim.Rule;
import optlab.optim.Schedule;
import org.junit.jupiter.api.Test;

class RunSpecTest {
    private static RunConfig cfg(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return RunConfig.fromMap(m);
    }

    private static String refusal(Object... kv) {
        return assertThrows(IllegalArgumentException.class, () -> RunSpec.resolve(cfg(kv))).getMessage();
    }

    @Test
    void theWorkloadsDefaultsThenTheFileThenTheFlags() {
        RunSpec s = RunSpec.resolve(cfg("workload", "cifar10_resnet56_nobn", "lr", 1e-4), cfg("lr", 5e-4, "seed", 7));
        RunConfig c = s.config();
        assertEquals(5e-4, c.lr());
        assertEquals(128, c.batchSize());      // Zhuang's, from the workload
        assertEquals(300, c.epochs());
        assertEquals("zhuang.adamw", c.optimizer());
        assertEquals(7L, c.initSeed());       // every seed follows --seed unless set apart
        assertEquals(7L, c.dataSeed());
        assertEquals(7L, c.dropoutSeed());
        assertEquals(0L, c.splitSeed());      // the split stays put
        assertEquals("float32", c.dtype());
        assertTrue(c.dataDir().endsWith("cifar-10-batches-bin"), c.dataDir());
        OptimizerConfig o = s.optimizer(300 * 391, 391);
        assertEquals(Rule.ADAM, o.rule());
        assertEquals(WeightDecayMode.DECOUPLED, o.numerics().weightDecayMode());
        assertEquals(DecayConvention.LAMBDA_ETA_T, o.numerics().decayConvention());
        assertEquals(5e-5, o.weightDecay());
        assertEquals(5e-4, o.lr());
    }

    @Test
    void stepsGivenLaterReplaceTheWorkloadsEpochs() {
        RunConfig c = RunSpec.resolve(cfg("workload", "fmnist_2c2d", "steps", 20)).config();
        assertEquals(20L, c.steps());
        assertNull(c.epochs());
        assertEquals(20, RunSpec.resolve(cfg("workload", "fmnist_2c2d", "steps", 20)).totalSteps(469));
        assertEquals(2 * 469, RunSpec.resolve(cfg("workload", "fmnist_2c2d", "epochs", 2)).totalSteps(469));
        assertTrue(refusal("workload", "fmnist_2c2d", "steps", 20, "epochs", 2).startsWith("give steps or epochs, not both"));
    }

    @Test
    void choisOneMinusDimensionsMapToTheirHyperparameters() {
        RunSpec s = RunSpec.resolve(cfg("workload", "fmnist_2c2d", "optimizer", "choi.nadam", "one_minus_beta1", 0.1, "one_minus_beta2", 1e-3));
        OptimizerConfig o = s.optimizer(100, 10);
        assertEquals(1 - 0.1, o.beta1());
        assertEquals(1 - 1e-3, o.beta2());
        assertEquals(Rule.NADAM, o.rule());
        o = RunSpec.resolve(cfg("workload", "fmnist_2c2d", "optimizer", "choi.momentum", "one_minus_momentum", 0.01)).optimizer(100, 10);
        assertEquals(0.99, o.momentum());
        assertTrue(refusal("workload", "fmnist_2c2d", "optimizer", "choi.momentum", "one_minus_momentum", 0.0)
                .startsWith("one_minus_momentum must be in (0, 1], got 0.0"));
    }

    @Test
    void theLinearDecayScheduleIsResolvedOverTheRun() {
        RunSpec s = RunSpec.resolve(cfg("workload", "fmnist_2c2d", "schedule", "linear_decay", "decay_steps_factor", 0.5, "end_factor", 0.1));
        Schedule sch = s.optimizer(1000, 100).schedule();
        // init2winit's polynomial schedule with power 1: 1 at the first step, end_factor from step T = 500 on
        assertEquals(1.0, sch.multiplier(1), 0);
        assertEquals(0.1, sch.multiplier(501), 1e-15);
        assertEquals(0.1, sch.multiplier(1000), 1e-15);
        assertEquals(1 - 0.9 * 250 / 500.0, sch.multiplier(251), 1e-15);
    }

    @Test
    void aFloat64ModelGetsFloat64OptimizerState() {
        OptimizerConfig o = RunSpec.resolve(cfg("workload", "fmnist_2c2d", "dtype", "float64")).optimizer(10, 10);
        assertEquals(StatePrecision.FLOAT64, o.numerics().statePrecision());
        assertTrue(refusal("workload", "fmnist_2c2d", "dtype", "float64", "device", "cuda").startsWith("dtype float64 runs on the CPU only"));
        assertTrue(refusal("workload", "fmnist_2c2d", "dtype", "bfloat16").startsWith("dtype must be float32 or float64, got 'bfloat16'"));
    }

    @Test
    void badValuesAreRefusedBeforeAnythingRunsNamingKeyAndValue() {
        assertTrue(refusal("lr", 0.1).startsWith("no workload given"));
        assertTrue(refusal("workload", "mnist_mlp").startsWith("no workload 'mnist_mlp'; workloads: fmnist_2c2d, cifar10_resnet20, "));
        assertEquals("batch_size must be positive, got 0", refusal("workload", "fmnist_2c2d", "batch_size", 0));
        assertEquals("valid_fraction must be in [0, 1), got 1.0", refusal("workload", "fmnist_2c2d", "valid_fraction", 1.0));
        assertTrue(refusal("workload", "fmnist_2c2d", "lr", -1.0).contains("invalid learning rate: -1.0"));
        assertTrue(refusal("workload", "fmnist_2c2d", "optimizer", "choi.sgd", "beta1", 0.9).contains("beta1 does not apply to sgd"));
        assertTrue(refusal("workload", "fmnist_2c2d", "optimizer", "adamw").startsWith("no optimizer preset 'adamw'"));
        assertEquals("step_every 3 does not apply to schedule cosine", refusal("workload", "fmnist_2c2d", "schedule", "cosine", "step_every", 3));
        assertTrue(refusal("workload", "fmnist_2c2d", "schedule", "exponential").startsWith("schedule must be constant, step, cosine or linear_decay"));
        assertTrue(refusal("workload", "fmnist_2c2d", "weight_decay_mode", "ridge").startsWith("weight_decay_mode must be one of none, l2, decoupled, proximal"));
        assertTrue(refusal("workload", "fmnist_2c2d", "corpus", "x.txt").startsWith("corpus x.txt does not apply to this workload"));
        assertTrue(refusal("workload", "tolstoi_char_rnn", "augment", true).startsWith("augment true does not apply to this workload"));
        assertTrue(refusal("workload", "fmnist_2c2d", "loss_multiplier", 0.0).startsWith("loss_multiplier must be positive"));
        assertTrue(refusal("workload", "fmnist_2c2d", "device", "tpu").startsWith("not a device: 'tpu'"));
    }

    @Test
    void aWeightDecayGivenToAPresetWithoutOneActsAsL2() {
        OptimizerConfig o = RunSpec.resolve(cfg("workload", "fmnist_2c2d", "optimizer", "choi.momentum", "weight_decay", 1e-4)).optimizer(10, 10);
        assertEquals(WeightDecayMode.L2, o.numerics().weightDecayMode());
        o = RunSpec.resolve(cfg("workload", "fmnist_2c2d", "optimizer", "zhuang.adamprox", "weight_decay", 1e-4, "decay_convention", "lambda_lr"))
                .optimizer(10, 10);
        assertEquals(WeightDecayMode.PROXIMAL, o.numerics().weightDecayMode());
        assertEquals(DecayConvention.LAMBDA_LR, o.numerics().decayConvention());
    }
}
