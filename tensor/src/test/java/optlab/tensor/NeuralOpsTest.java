package optlab.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Shape mismatches in the NN ops: each error names the op and the shapes involved. */
class NeuralOpsTest {
    private static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void convolution() {
        assertEquals("conv2d: input [2, 3, 8, 8] has 3 channels but weight [4, 2, 3, 3] expects 2",
                error(() -> NeuralOps.conv2d(Tensor.zeros(2, 3, 8, 8), Tensor.zeros(4, 2, 3, 3), 1, 1)));
        assertEquals("conv2d: input [2, 3, 8] and weight [4, 3, 3, 3] must both be 4-D (NCHW and KCRS)",
                error(() -> NeuralOps.conv2d(Tensor.zeros(2, 3, 8), Tensor.zeros(4, 3, 3, 3), 1, 1)));
        assertEquals("conv2d: kernel 5x5 larger than padded input 4x4 (input [1, 1, 4, 4], weight [1, 1, 5, 5])",
                error(() -> NeuralOps.conv2d(Tensor.zeros(1, 1, 4, 4), Tensor.zeros(1, 1, 5, 5), 1, 0)));
        assertEquals("conv2dBackwardData: dy has shape [2, 4, 7, 7], expected [2, 4, 8, 8]",
                error(() -> NeuralOps.conv2dBackwardData(Tensor.zeros(2, 4, 7, 7), Tensor.zeros(4, 3, 3, 3), Shape.of(2, 3, 8, 8), 1, 1)));
    }

    @Test
    void poolingBatchNormLossEmbeddingLstm() {
        assertEquals("maxPool2d: input must be 4-D (NCHW), got shape [3, 8, 8]", error(() -> NeuralOps.maxPool2d(Tensor.zeros(3, 8, 8), 2, 2, 0)));
        assertEquals("batchNorm: per-channel tensor of shape [4] does not match 3 channels of input [2, 3, 5, 5]",
                error(() -> NeuralOps.batchNormTraining(Tensor.zeros(2, 3, 5, 5), Tensor.zeros(4), Tensor.zeros(3), null, null, 0.1, 1e-5)));
        assertEquals("crossEntropy: logits [4, 10] and labels [5] disagree on the batch size",
                error(() -> NeuralOps.softmaxCrossEntropy(Tensor.zeros(4, 10), Tensor.ofInts(new int[5], 5), 0)));
        assertEquals("crossEntropy: labels must be INT32, got FLOAT32",
                error(() -> NeuralOps.softmaxCrossEntropy(Tensor.zeros(4, 10), Tensor.zeros(4), 0)));
        assertEquals("embedding: table must be 2-D, got shape [10]",
                error(() -> NeuralOps.embedding(Tensor.ofInts(new int[] {1}, 1), Tensor.zeros(10))));
        assertEquals("lstmCell: gates [3, 8] and cell state [3, 3] do not fit (expected gates (n, 4h) and state (n, h))",
                error(() -> NeuralOps.lstmCell(Tensor.zeros(3, 8), Tensor.zeros(3, 3))));
    }
}
