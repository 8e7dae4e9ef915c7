package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.tensor.Generator;
import optlab.tensor.Tensor;
import org.junit.jupiter.api.Test;

class InitTest {
    private static double std(Tensor t) {
        float[] v = t.toFloatArray();
        double s = 0, sq = 0;
        for (float x : v) s += x;
        double mean = s / v.length;
        for (float x : v) sq += (x - mean) * (x - mean);
        return Math.sqrt(sq / v.length);
    }

    @Test
    void fansFollowPyTorch() {
        Tensor conv = Tensor.empty(64, 32, 5, 5);
        assertEquals(32 * 25, Init.fanIn(conv));
        assertEquals(64 * 25, Init.fanOut(conv));
        assertEquals(3136, Init.fanIn(Tensor.empty(1024, 3136)));
    }

    @Test
    void variancesMatchTheirFormulas() {
        Generator g = new Generator(9);
        Tensor w = Tensor.empty(256, 128, 3, 3); // fanIn 1152, fanOut 2304, 294,912 samples: std known to ~0.3%
        assertEquals(Math.sqrt(2.0 / 1152), std(Init.kaimingNormal(w, Init.FanMode.FAN_IN, g)), 0.01 * Math.sqrt(2.0 / 1152));
        assertEquals(Math.sqrt(2.0 / 2304), std(Init.kaimingNormal(w, Init.FanMode.FAN_OUT, g)), 0.01 * Math.sqrt(2.0 / 2304));
        assertEquals(Math.sqrt(2.0 / 3456), std(Init.glorotNormal(w, g)), 0.01 * Math.sqrt(2.0 / 3456));
        // a uniform on [-b, b] has std b/sqrt(3)
        assertEquals(Math.sqrt(6.0 / 3456) / Math.sqrt(3), std(Init.glorotUniform(w, g)), 0.01 * Math.sqrt(2.0 / 3456));
        assertEquals(1 / Math.sqrt(1152) / Math.sqrt(3), std(Init.pytorchDefault(w, 1152, g)), 0.01 / Math.sqrt(1152));
        for (float v : Init.pytorchDefault(w, 1152, g).toFloatArray()) assertTrue(Math.abs(v) <= 1 / Math.sqrt(1152));
    }

    /** TensorFlow's glorot_normal: truncated at 2 pre-truncation std, rescaled so the variance stays 2/(fanIn + fanOut). */
    @Test
    void glorotTruncatedNormalKeepsTheGlorotVarianceWithinItsTruncation() {
        assertEquals(0.87962566103423978, Init.TRUNCATED_NORMAL_STD, 0);
        Generator g = new Generator(11);
        Tensor w = Tensor.empty(256, 128, 3, 3);
        double sigma = Math.sqrt(2.0 / 3456), limit = 2 * sigma / Init.TRUNCATED_NORMAL_STD;
        assertEquals(sigma, std(Init.glorotTruncatedNormal(w, g)), 0.01 * sigma);
        double max = 0;
        for (float v : w.toFloatArray()) max = Math.max(max, Math.abs(v));
        assertTrue(max <= limit * (1 + 1e-6), "beyond the truncation: " + max / sigma + " std");
        assertTrue(max > 0.98 * limit, "the tails stop early: " + max / sigma + " std");
    }

    @Test
    void lstmAndExplicitFanInitializers() {
        Generator g = new Generator(10);
        Tensor w = Tensor.empty(512, 128);
        for (float v : Init.pytorchLstm(w, 128, g).toFloatArray()) assertTrue(Math.abs(v) <= 1 / Math.sqrt(128));
        assertEquals(1 / Math.sqrt(128) / Math.sqrt(3), std(w), 0.01 / Math.sqrt(128));
        // a slice of TensorFlow's joint LSTM kernel (256, 512): the bound uses the whole kernel's fans
        double bound = Math.sqrt(6.0 / (256 + 512));
        for (float v : Init.glorotUniform(w, 256, 512, g).toFloatArray()) assertTrue(Math.abs(v) <= bound);
        assertEquals(bound / Math.sqrt(3), std(w), 0.01 * bound);
    }
}
