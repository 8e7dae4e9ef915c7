package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import optlab.nn.ParameterArena;
import org.junit.jupiter.api.Test;

/** Every optimizer's fully resolved setting as JSON: the format, the round trip, the run record. */
class SettingsJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode tree(String json) throws Exception {
        return JSON.readTree(json);
    }

    @Test
    void zhuangAdamWResolvesToEveryChoice() throws Exception {
        OptimizerConfig c = Presets.builder("zhuang.adamw").lr(1e-3).weightDecay(5e-4)
                .schedule(Schedule.cosine(Schedule.Unit.EPOCH, 391, 300, 0)).build();
        String expected = """
                {
                  "preset" : "zhuang.adamw",
                  "rule" : "adam",
                  "formula" : "lr_t = lr*eta_t; m <- beta1*m + (1-beta1)*g; v <- beta2*v + (1-beta2)*g^2; u = (lr_t/(1-beta1^t))*m/(sqrt(v)/sqrt(1-beta2^t) + eps); x <- (1 - d)*x - u; d = lambda*eta_t",
                  "lr" : 0.001,
                  "beta1" : 0.9,
                  "beta2" : 0.999,
                  "eps" : 1.0E-8,
                  "weight_decay" : 5.0E-4,
                  "numerics" : {
                    "eps_placement" : "outside_corrected",
                    "bias_correction" : true,
                    "weight_decay_mode" : "decoupled",
                    "decay_convention" : "lambda_eta_t",
                    "state_precision" : "float32"
                  },
                  "schedule" : {
                    "kind" : "cosine",
                    "unit" : "epoch",
                    "steps_per_epoch" : 391,
                    "length" : 300,
                    "final_fraction" : 0.0
                  },
                  "non_finite_gradients" : "skip",
                  "groups" : [ ]
                }""";
        assertEquals(tree(expected), tree(c.toJson()), c.toJson());
    }

    @Test
    void inapplicableFieldsAreAbsent() throws Exception {
        JsonNode sgd = tree(Presets.get("choi.sgd").toJson());
        for (String absent : new String[] {"momentum", "rho", "beta1", "beta2", "eps"}) assertEquals(null, sgd.get(absent), absent);
        assertEquals(null, sgd.get("numerics").get("state_precision"));
        assertEquals(null, sgd.get("numerics").get("eps_placement"));
        JsonNode rms = tree(Presets.get("choi.rmsprop").toJson());
        assertEquals(1.0, rms.get("numerics").get("initial_accumulator").asDouble());
        assertEquals("inside_sqrt", rms.get("numerics").get("eps_placement").asText());
    }

    @Test
    void everySettingRoundTrips() {
        for (String p : Presets.names()) {
            OptimizerConfig c = Presets.get(p);
            assertEquals(c, OptimizerConfig.fromJson(c.toJson()), p);
        }
        OptimizerConfig c = Presets.builder("choi.rmsprop").statePrecision(Numerics.StatePrecision.FLOAT64)
                .schedule(Schedule.warmup(100, Schedule.linearDecay(10_000, 0.8, 0.004)))
                .nonFiniteGradients(NonFinitePolicy.THROW)
                .group(new OptimizerConfig.GroupSettings("no_decay", 0.1, null)).build();
        assertEquals(c, OptimizerConfig.fromJson(c.toJson()));
        OptimizerConfig poly = Presets.builder("choi.sgd").schedule(Schedule.polynomialDecay(1000, 0.9, 0.01, 2)).build();
        assertEquals(poly, OptimizerConfig.fromJson(poly.toJson()));
    }

    @Test
    void linearDecayIsWrittenWithInit2winitsNames() throws Exception {
        OptimizerConfig c = Presets.builder("choi.sgd").schedule(Schedule.polynomialDecay(1000, 0.9, 0.01, 2)).build();
        assertEquals(tree("""
                {"kind": "linear_decay", "total_steps": 1000, "decay_steps_factor": 0.9, "end_factor": 0.01, "power": 2.0}"""),
                tree(c.toJson()).get("schedule"));
    }

    @Test
    void jsonIsValidatedLikeAnyOtherSetting() {
        String json = Presets.get("choi.sgd").toJson().replace("\"rule\" : \"sgd\",", "\"rule\" : \"sgd\", \"beta1\" : 0.9,");
        var e = assertThrows(IllegalArgumentException.class, () -> OptimizerConfig.fromJson(json));
        assertEquals("bad optimizer settings JSON: beta1 does not apply to sgd (got 0.9)", e.getMessage());
    }

    @Test
    void theRunRecordHoldsGroupsKernelAndStateTypes() throws Exception {
        OptimizerConfig c = Presets.builder("pytorch.adamw").statePrecision(Numerics.StatePrecision.FLOAT64)
                .group(new OptimizerConfig.GroupSettings("no_decay", null, 0.0)).build();
        try (ParameterArena arena = Fixtures.grouped(Fixtures.twoLayers()); Optimizer opt = c.create(arena)) {
            JsonNode s = tree(opt.settings().toJson());
            assertEquals(tree(c.toJson()), s.get("config"));
            assertEquals("adam_f32_f64state", s.get("kernel").asText());
            assertEquals("float64", s.get("state").get("exp_avg").asText());
            assertEquals("float64", s.get("state").get("exp_avg_sq").asText());
            assertEquals(tree("""
                    [ {"name": "decay", "offset": 0, "numel": 50, "lr": 0.001, "weight_decay": 0.01, "parameters": ["0.weight", "1.weight"]},
                      {"name": "no_decay", "offset": 50, "numel": 8, "lr": 0.001, "weight_decay": 0.0, "parameters": ["0.bias", "1.bias"]} ]"""),
                    s.get("groups"));
        }
    }
}
