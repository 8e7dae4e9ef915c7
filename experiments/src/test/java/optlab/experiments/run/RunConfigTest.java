package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunConfigTest {
    @Test
    void everyKeyHasHelpAFlagOfTheSameNameAndADistinctKey() {
        Set<String> keys = new HashSet<>();
        for (RecordComponent c : RunConfig.components()) {
            assertNotNull(c.getAnnotation(RunConfig.Help.class), c.getName() + " has no @Help");
            String key = RunConfig.key(c);
            assertTrue(keys.add(key), key);
            assertEquals("--" + key.replace('_', '-'), RunConfig.flag(c));
        }
        assertTrue(keys.containsAll(Set.of("weight_decay", "one_minus_beta1", "decay_steps_factor", "end_factor", "loss_multiplier", "dtype")));
    }

    @Test
    void jsonAndYamlFilesReadToTheSameConfig(@TempDir Path tmp) throws IOException {
        Path json = tmp.resolve("c.json"), yaml = tmp.resolve("c.yaml");
        Files.writeString(json, "{\"workload\": \"cifar10_resnet20_nobn\", \"lr\": 0.0005, \"weight_decay\": 5e-5, \"augment\": false, "
                + "\"steps\": 20, \"optimizer\": \"zhuang.adamw\"}");
        Files.writeString(yaml, "workload: cifar10_resnet20_nobn\nlr: 0.0005\nweight_decay: 5.0e-5\naugment: false\nsteps: 20\noptimizer: zhuang.adamw\n");
        RunConfig a = RunConfig.read(json), b = RunConfig.read(yaml);
        assertEquals(a, b);
        assertEquals(5e-5, a.weightDecay());
        assertEquals(20L, a.steps());
        assertEquals(false, a.augment());
        assertNull(a.beta1());
        // and back: the JSON of a config reads to the same config
        Files.writeString(tmp.resolve("again.json"), a.toJson());
        assertEquals(a, RunConfig.read(tmp.resolve("again.json")));
    }

    @Test
    void anUnknownKeyOrAWrongTypeIsRefusedByName(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("bad.yaml");
        Files.writeString(f, "workload: fmnist_2c2d\nlearning_rate: 0.1\n");
        var e = assertThrows(IllegalArgumentException.class, () -> RunConfig.read(f));
        assertTrue(e.getMessage().startsWith("config file " + f + ": unknown key 'learning_rate' (keys: workload, data_dir"), e.getMessage());
        Files.writeString(f, "workload: fmnist_2c2d\nbatch_size: many\n");
        e = assertThrows(IllegalArgumentException.class, () -> RunConfig.read(f));
        assertTrue(e.getMessage().contains("bad value for 'batch_size'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RunConfig.read(tmp.resolve("none.json")));
        assertEquals("config file " + tmp.resolve("none.json") + ": file not found", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RunConfig.read(tmp.resolve("c.toml")));
        assertTrue(e.getMessage().contains("expected a .json, .yaml or .yml file"), e.getMessage());
    }

    @Test
    void laterLayersOverrideEarlierOnes() {
        RunConfig base = RunConfig.fromMap(Map.of("lr", 0.1, "batch_size", 128, "epochs", 10));
        RunConfig over = RunConfig.fromMap(Map.of("lr", 0.01, "seed", 3));
        RunConfig m = base.overriddenBy(over);
        assertEquals(0.01, m.lr());
        assertEquals(128, m.batchSize());
        assertEquals(3L, m.seed());
        assertEquals(10, m.epochs());
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("batch_size", 128);
        expected.put("epochs", 10);
        expected.put("lr", 0.01);
        expected.put("seed", 3L);
        assertEquals(expected, m.toMap()); // declaration order
    }
}
