package optlab.nn;

import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.kernels.DType;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * A multi-layer LSTM, as {@code torch.nn.LSTM} (time-major, no projection): for layer k and time s,
 * <pre>
 *   gates = x_s W_ih^T + b_ih + h_{s-1} W_hh^T + b_hh          (n, 4h), blocks [i | f | g | o]
 *   c_s = sigmoid(f) * c_{s-1} + sigmoid(i) * tanh(g)
 *   h_s = sigmoid(o) * tanh(c_s)
 * </pre>
 * Parameters per layer k, with PyTorch's names: {@code weight_ih_l<k>} (4h, in_k) with in_0 = inputSize
 * and in_k = h above; {@code weight_hh_l<k>} (4h, h); {@code bias_ih_l<k>} (4h); and, unless built with
 * a single bias, {@code bias_hh_l<k>} (4h). A single bias is TensorFlow's LSTMCell layout (DeepOBS): the
 * two biases only ever appear summed, but an optimizer updates each separately, so two biases move
 * their sum twice as fast as one. TensorFlow's cell also adds a constant {@code forget_bias} (1.0 by default) to the
 * forget gate's pre-activation in every step: {@link #Lstm(int, int, int, boolean, double, Generator)} takes it
 * (single-bias layout only), so that the trainable bias starts and decays where TensorFlow's does.
 *
 * <p>Each layer is one graph node over the whole sequence ({@link #forwardLayer}), run by the backend's
 * {@code lstm} kernel choice, so {@code --kernels lstm=cudnn} puts the model's LSTM on cuDNN.
 *
 * <p>Initialization: PyTorch's default, every weight and bias U(-1/sqrt(h), 1/sqrt(h))
 * ({@link Init#pytorchLstm}); a model may re-initialize.
 *
 * <p>State: (h, c), each (layers, n, h), as PyTorch's (h_0, c_0); {@link #forward(Variable, State)}
 * returns the final state, so a language model can carry it from one batch to the next (truncated
 * backpropagation: the state passed in is a constant of the new graph).
 */
public final class Lstm extends Module {
    private final int inputSize, hiddenSize, numLayers;
    private final boolean biasHh;
    private final double forgetBias;
    private final Parameter[] weightIh, weightHh, biasIh, biasHhs;

    /**
     * The recurrent state (h, c), each (layers, n, hidden). Both tensors are plain values (no graph).
     * States returned by {@link #forward(Variable, State)} are created in the current {@link Scope};
     * call {@link #escape()} to keep one beyond it and {@link #close()} when done.
     */
    public record State(Tensor h, Tensor c) implements AutoCloseable {
        public State {
            if (h.dim() != 3 || !h.shape().equals(c.shape())) {
                throw new IllegalArgumentException("Lstm.State: h " + h.shape() + " and c " + c.shape()
                        + " must both be (layers, n, hidden)");
            }
        }

        /** The final (h, c) of each layer, each (n, hidden), stacked into a new State cut from the graph. */
        public static State stack(Variable[] hs, Variable[] cs) {
            Tensor[] h = new Tensor[hs.length], c = new Tensor[cs.length];
            for (int k = 0; k < hs.length; k++) {
                h[k] = hs[k].data().unsqueeze(0);
                c[k] = cs[k].data().unsqueeze(0);
            }
            State s = new State(Tensor.cat(0, h), Tensor.cat(0, c));
            for (int k = 0; k < hs.length; k++) {
                h[k].close();
                c[k].close();
            }
            return s;
        }

        /** Removes both tensors from their scope: they live until {@link #close()}. Returns this. */
        public State escape() {
            Scope.escape(h);
            Scope.escape(c);
            return this;
        }

        @Override
        public void close() {
            h.close();
            c.close();
        }
    }

    /** The output of every time step of the last layer, (t, n, hidden), and the final state. */
    public record Output(Variable output, State state) {}

    /** One layer's outputs (t, n, hidden) and its final h and c, each (n, hidden). */
    public record LayerOutput(Variable output, Variable h, Variable c) {}

    public Lstm(int inputSize, int hiddenSize, int numLayers, boolean biasHh, Generator g) {
        this(inputSize, hiddenSize, numLayers, biasHh, 0.0, g);
    }

    /**
     * With a constant {@code forgetBias} added to the forget gate's pre-activation in every step (TensorFlow's
     * {@code LSTMCell(forget_bias=...)}); not a parameter, so neither trained nor decayed nor saved. Only with a
     * single bias ({@code biasHh} false), TensorFlow's layout.
     */
    public Lstm(int inputSize, int hiddenSize, int numLayers, boolean biasHh, double forgetBias, Generator g) {
        if (forgetBias != 0 && biasHh) {
            throw new IllegalArgumentException("Lstm: a constant forget bias (" + forgetBias + ") is TensorFlow's single-bias layout; "
                    + "build it with biasHh false");
        }
        if (!Double.isFinite(forgetBias)) throw new IllegalArgumentException("Lstm: forgetBias must be finite, got " + forgetBias);
        this.forgetBias = forgetBias;
        if (inputSize <= 0 || hiddenSize <= 0 || numLayers <= 0) {
            throw new IllegalArgumentException("Lstm: sizes must be positive, got input " + inputSize + ", hidden " + hiddenSize
                    + ", layers " + numLayers);
        }
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        this.numLayers = numLayers;
        this.biasHh = biasHh;
        weightIh = new Parameter[numLayers];
        weightHh = new Parameter[numLayers];
        biasIh = new Parameter[numLayers];
        biasHhs = new Parameter[numLayers];
        int h4 = 4 * hiddenSize;
        for (int k = 0; k < numLayers; k++) {
            int in = k == 0 ? inputSize : hiddenSize;
            weightIh[k] = register("weight_ih_l" + k, new Parameter(Init.pytorchLstm(Tensor.empty(h4, in), hiddenSize, g)));
            weightHh[k] = register("weight_hh_l" + k, new Parameter(Init.pytorchLstm(Tensor.empty(h4, hiddenSize), hiddenSize, g)));
            biasIh[k] = register("bias_ih_l" + k, new Parameter(Init.pytorchLstm(Tensor.empty(h4), hiddenSize, g)));
            if (biasHh) biasHhs[k] = register("bias_hh_l" + k, new Parameter(Init.pytorchLstm(Tensor.empty(h4), hiddenSize, g)));
        }
    }

    public int inputSize() {
        return inputSize;
    }

    public int hiddenSize() {
        return hiddenSize;
    }

    public int numLayers() {
        return numLayers;
    }

    public Parameter weightIh(int layer) {
        return weightIh[layer];
    }

    public Parameter weightHh(int layer) {
        return weightHh[layer];
    }

    public Parameter biasIh(int layer) {
        return biasIh[layer];
    }

    /** Null when built with a single bias. */
    public Parameter biasHh(int layer) {
        return biasHhs[layer];
    }

    /** x is (t, n, inputSize); the output (t, n, hidden), starting from a zero state. */
    @Override
    public Variable forward(Variable x) {
        Output out = forward(x, null);
        out.state().close();
        return out.output();
    }

    /**
     * x is (t, n, inputSize); state is (h, c) each (layers, n, hidden), or null for zeros. Returns the
     * last layer's output (t, n, hidden) and the final state (new tensors in the current scope).
     */
    public Output forward(Variable x, State state) {
        checkInput(x);
        int n = x.size(1);
        if (state != null && !state.h().shape().equals(Shape.of(numLayers, n, hiddenSize))) {
            throw new IllegalArgumentException("Lstm: state of shape " + state.h().shape() + " for input " + x.shape()
                    + " (expected (" + numLayers + ", " + n + ", " + hiddenSize + "))");
        }
        Variable[] hs = new Variable[numLayers], cs = new Variable[numLayers];
        Variable layerIn = x;
        for (int k = 0; k < numLayers; k++) {
            Variable h0 = state == null ? null : new Variable(state.h().select(0, k));
            Variable c0 = state == null ? null : new Variable(state.c().select(0, k));
            LayerOutput lo = forwardLayer(k, layerIn, h0, c0);
            layerIn = lo.output();
            hs[k] = lo.h();
            cs[k] = lo.c();
        }
        return new Output(layerIn, State.stack(hs, cs));
    }

    /**
     * Runs layer {@code k} over a whole sequence. x is (t, n, in_k); h0 and c0 are (n, hidden), or null for
     * zeros. One graph node ({@link Functional#lstmSequence}): the backend's {@code lstm} kernel choice runs the
     * layer (the CPU and the own CUDA kernels: the input projection of all steps as one GEMM, then one small GEMM
     * and one fused cell per step; or cuDNN's RNN).
     */
    public LayerOutput forwardLayer(int k, Variable x, Variable h0, Variable c0) {
        if (x.dim() != 3 || x.size(2) != weightIh[k].size(1)) {
            throw new IllegalArgumentException("Lstm layer " + k + ": input of shape " + x.shape() + " (expected (t, n, " + weightIh[k].size(1) + "))");
        }
        int t = x.size(0);
        // TensorFlow's constant forget bias rides in the bias slot that the single-bias layout leaves free
        Variable second = forgetBias != 0 ? new Variable(forgetConstant()) : biasHhs[k]; // the constant: a new tensor of this scope
        Variable yc = Functional.lstmSequence(x, h0, c0, weightIh[k], weightHh[k], biasIh[k], second); // (t + 1, n, h)
        return new LayerOutput(yc.narrow(0, 0, t), yc.select(0, t - 1), yc.select(0, t));
    }

    /** A (4h) bias holding {@code forgetBias} in the forget block and 0 elsewhere, on the weights' device and dtype. */
    private Tensor forgetConstant() {
        Tensor w = weightIh[0].data();
        Tensor b = Tensor.zeros(Shape.of(4 * hiddenSize), w.dtype(), w.device());
        try (Tensor f = b.narrow(0, hiddenSize, hiddenSize)) {
            f.fillInPlace(forgetBias);
        }
        return b;
    }

    /** The constant added to the forget gate's pre-activation (TensorFlow's forget_bias); 0 for PyTorch's cell. */
    public double forgetBias() {
        return forgetBias;
    }

    private void checkInput(Variable x) {
        if (x.dim() != 3 || x.size(2) != inputSize) {
            throw new IllegalArgumentException("Lstm(" + inputSize + ", " + hiddenSize + "): input of shape " + x.shape()
                    + " (expected (t, n, " + inputSize + "))");
        }
        if (x.dtype() != DType.FLOAT32 && x.dtype() != DType.FLOAT64) {
            throw new IllegalArgumentException("Lstm: input must be floating, got " + x.dtype());
        }
    }

    /** Zeros of the right shape for a batch of n sequences, with this layer's dtype and device ({@link Module#to}). */
    public State zeroState(int n) {
        Tensor w = weightIh[0].data();
        Shape s = Shape.of(numLayers, n, hiddenSize);
        return new State(Tensor.zeros(s, w.dtype(), w.device()), Tensor.zeros(s, w.dtype(), w.device()));
    }

    @Override
    protected String describe() {
        return inputSize + ", " + hiddenSize + ", num_layers=" + numLayers + (biasHh ? "" : ", single_bias=true")
                + (forgetBias != 0 ? ", forget_bias=" + forgetBias : "");
    }
}
