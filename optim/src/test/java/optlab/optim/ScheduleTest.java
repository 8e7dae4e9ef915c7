package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import optlab.nn.ParameterArena;
import optlab.optim.Schedule.Unit;
import org.junit.jupiter.api.Test;

/** Every schedule against values computed by hand from its formula. */
class ScheduleTest {
    private static final double TOL = 1e-12;

    @Test
    void constant() {
        Schedule s = Schedule.constant();
        assertEquals(1, s.multiplier(1));
        assertEquals(1, s.multiplier(1_000_000));
    }

    @Test
    void stepDecayPerStepAndPerEpoch() {
        // per step, every 3 steps x0.1: s = t-1 = 0,1,2 -> 1; 3,4,5 -> 0.1; 6 -> 0.01
        Schedule s = Schedule.stepDecay(Unit.STEP, 1, 3, 0.1);
        assertEquals(1, s.multiplier(1), TOL);
        assertEquals(1, s.multiplier(3), TOL);
        assertEquals(0.1, s.multiplier(4), TOL);
        assertEquals(0.1, s.multiplier(6), TOL);
        assertEquals(0.01, s.multiplier(7), TOL);
        // per epoch of 10 steps, every 2 epochs x0.5: steps 1..20 are epochs 0, 1 -> 1; step 21 is epoch 2 -> 0.5
        Schedule e = Schedule.stepDecay(Unit.EPOCH, 10, 2, 0.5);
        assertEquals(1, e.multiplier(1), TOL);
        assertEquals(1, e.multiplier(20), TOL);
        assertEquals(0.5, e.multiplier(21), TOL);
        assertEquals(0.5, e.multiplier(40), TOL);
        assertEquals(0.25, e.multiplier(41), TOL);
    }

    @Test
    void cosinePerStepAndPerEpoch() {
        // length 4, final 0: (1 + cos(pi s/4))/2 for s = 0..4 = 1, 0.8535534, 0.5, 0.1464466, 0; then stays 0
        Schedule s = Schedule.cosine(Unit.STEP, 1, 4, 0);
        assertEquals(1, s.multiplier(1), TOL);
        assertEquals(0.8535533905932737, s.multiplier(2), TOL);
        assertEquals(0.5, s.multiplier(3), TOL);
        assertEquals(0.14644660940672627, s.multiplier(4), TOL);
        assertEquals(0, s.multiplier(5), TOL);
        assertEquals(0, s.multiplier(9), TOL);
        // per epoch of 5 steps over 2 epochs, final 0.1: epoch 0 -> 1; epoch 1 -> 0.1 + 0.9*(1 + cos(pi/2))/2 = 0.55; then 0.1
        Schedule e = Schedule.cosine(Unit.EPOCH, 5, 2, 0.1);
        assertEquals(1, e.multiplier(5), TOL);
        assertEquals(0.55, e.multiplier(6), TOL);
        assertEquals(0.55, e.multiplier(10), TOL);
        assertEquals(0.1, e.multiplier(11), TOL);
    }

    @Test
    void choiLinearDecay() {
        // 100 steps, decay over the first half (T = 50) down to 0.01: eta = 1 - 0.99*min(t-1, 50)/50
        Schedule s = Schedule.linearDecay(100, 0.5, 0.01);
        assertEquals(50, ((Schedule.LinearDecay) s).decaySteps());
        assertEquals(1, s.multiplier(1), TOL);
        assertEquals(1 - 0.99 * 25 / 50, s.multiplier(26), TOL); // 0.505
        assertEquals(0.01, s.multiplier(51), TOL);
        assertEquals(0.01, s.multiplier(100), TOL);
        // T rounds to the nearest step: 0.333 * 10 = 3.33 -> 3
        assertEquals(3, ((Schedule.LinearDecay) Schedule.linearDecay(10, 0.333, 0)).decaySteps());
        assertEquals(1.0, ((Schedule.LinearDecay) s).power());
    }

    @Test
    void polynomialDecayWithPowerTwo() {
        // init2winit's hyperparameters_test override (power 2, end_factor 0.01, decay_steps_factor 0.5) over T = 100 steps,
        // so D = 50 and eta = 0.99 * (1 - min(t-1, 50)/50)^2 + 0.01, by hand:
        //   t = 1:  s = 0   -> 0.99 * 1^2    + 0.01 = 1
        //   t = 11: s = 10  -> 0.99 * 0.8^2  + 0.01 = 0.99 * 0.64 + 0.01 = 0.6436
        //   t = 26: s = 25  -> 0.99 * 0.5^2  + 0.01 = 0.2475 + 0.01     = 0.2575
        //   t = 46: s = 45  -> 0.99 * 0.1^2  + 0.01 = 0.0099 + 0.01     = 0.0199
        //   t >= 51         -> 0.01
        Schedule s = Schedule.polynomialDecay(100, 0.5, 0.01, 2);
        assertEquals(50, ((Schedule.LinearDecay) s).decaySteps());
        assertEquals(1, s.multiplier(1), TOL);
        assertEquals(0.6436, s.multiplier(11), TOL);
        assertEquals(0.2575, s.multiplier(26), TOL);
        assertEquals(0.0199, s.multiplier(46), TOL);
        assertEquals(0.01, s.multiplier(51), TOL);
        assertEquals(0.01, s.multiplier(1000), TOL);
        // power 0.5 to 0 over all 4 steps: sqrt(1 - s/4) = 1, sqrt(0.75) = 0.8660254037844386, sqrt(0.5) = 0.7071067811865476, 0.5, 0
        Schedule r = Schedule.polynomialDecay(4, 1, 0, 0.5);
        assertEquals(0.8660254037844386, r.multiplier(2), TOL);
        assertEquals(0.7071067811865476, r.multiplier(3), TOL);
        assertEquals(0.5, r.multiplier(4), TOL);
        assertEquals(0, r.multiplier(5), TOL);
    }

    @Test
    void warmupMultipliesTheScheduleAfterIt() {
        // 4 warmup steps: t/4 = 0.25, 0.5, 0.75, 1, then 1
        Schedule w = Schedule.warmup(4, Schedule.constant());
        assertEquals(0.25, w.multiplier(1), TOL);
        assertEquals(0.5, w.multiplier(2), TOL);
        assertEquals(1, w.multiplier(4), TOL);
        assertEquals(1, w.multiplier(5), TOL);
        // 2 warmup steps in front of a linear decay over 10 steps to 0: t=1 -> 0.5*1; t=2 -> 1*(1 - 1/10); t=3 -> 0.8
        Schedule wd = Schedule.warmup(2, Schedule.linearDecay(10, 1, 0));
        assertEquals(0.5, wd.multiplier(1), TOL);
        assertEquals(0.9, wd.multiplier(2), TOL);
        assertEquals(0.8, wd.multiplier(3), TOL);
    }

    @Test
    void badSchedulesAreRefusedByName() {
        assertEquals("step schedule: invalid factor: 0.0 (must be in (0, 1])",
                assertThrows(IllegalArgumentException.class, () -> Schedule.stepDecay(Unit.STEP, 1, 3, 0)).getMessage());
        assertEquals("cosine schedule: invalid steps_per_epoch: 0 (must be >= 1 for a per-epoch schedule)",
                assertThrows(IllegalArgumentException.class, () -> Schedule.cosine(Unit.EPOCH, 0, 10, 0)).getMessage());
        assertEquals("linear_decay schedule: invalid decay_steps_factor: 1.5 (must be in (0, 1])",
                assertThrows(IllegalArgumentException.class, () -> Schedule.linearDecay(10, 1.5, 0)).getMessage());
        assertEquals("linear_decay schedule: invalid power: 0.0 (must be > 0 and finite; 1 is linear)",
                assertThrows(IllegalArgumentException.class, () -> Schedule.polynomialDecay(10, 1, 0, 0)).getMessage());
        assertEquals("linear_decay schedule: invalid power: NaN (must be > 0 and finite; 1 is linear)",
                assertThrows(IllegalArgumentException.class, () -> Schedule.polynomialDecay(10, 1, 0, Double.NaN)).getMessage());
        assertEquals("step t must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> Schedule.constant().multiplier(0)).getMessage());
    }

    @Test
    void theOptimizerUsesLrTimesEta() {
        // SGD, lr 0.5, gradient 1, per-step halving every step: x moves 0.5, 0.25, 0.125
        OptimizerConfig c = Presets.builder("choi.sgd").lr(0.5).schedule(Schedule.stepDecay(Unit.STEP, 1, 1, 0.5)).build();
        try (ParameterArena arena = Fixtures.arenaOf(0f); Optimizer opt = c.create(arena)) {
            for (float expected : new float[] {-0.5f, -0.75f, -0.875f}) {
                Fixtures.setGrads(arena, 1f);
                opt.step();
                assertEquals(expected, arena.values().toFloatArray()[0]);
            }
        }
    }
}
