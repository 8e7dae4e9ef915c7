package optlab.experiments.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run out of memory says so in one line, naming the batch size and how to lower it or raise the heap
 * (OPTLAB_HEAP), and ends as failed with that reason in result.json. A child JVM with a 1 GiB heap trains the ResNet-50
 * stand-in at 224 x 224, batch 32: its weights, gradients and momentum fit (about 300 MiB), a forward's activations
 * (gigabytes) do not.
 */
class OutOfMemoryTest {
    @Test
    void outOfMemoryNamesTheBatchSizeAndTheHeap(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("run");
        OptLabProcess.Result r = OptLabProcess.run(tmp.resolve("logs"), List.of("-Xmx1g"), 300, "train", "--workload", "imagenet_resnet50",
                "--synthetic-images", "32", "--batch-size", "32", "--steps", "2", "--run-dir", dir.toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("error: out of memory at step 1 with batch_size 32 (Java heap "), r.err());
        assertTrue(r.err().contains("lower --batch-size, or raise the heap, e.g. OPTLAB_HEAP=-Xmx16g"), r.err());
        JsonNode result = RunDirectory.JSON.readTree(dir.resolve("result.json").toFile());
        assertEquals("failed", result.get("status").asText());
        assertTrue(result.get("reason").asText().startsWith("out of memory at step 1 with batch_size 32"), result.toString());
    }
}
