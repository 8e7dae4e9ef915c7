package optlab.nn.models;

import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.kernels.DType;
import optlab.nn.Dropout;
import optlab.nn.Embedding;
import optlab.nn.Init;
import optlab.nn.Linear;
import optlab.nn.Lstm;
import optlab.nn.Module;
import optlab.tensor.Generator;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * The character-level language model of Choi et al.'s War and Peace workload, DeepOBS's
 * {@code tolstoi_char_rnn} (PAPERS.md section 2):
 * <pre>
 *   tokens (n, t) INT32 in [0, vocab)                       DeepOBS: n = 50, t = 50
 *   embedding vocab -> 128                                  (n, t, 128)
 *   2 stacked LSTM layers of 128 units, each wrapped in dropout on its input and on its output
 *     (keep probability 0.8, training only)                 (n, t, 128)
 *   linear 128 -> vocab at every position                   (n, t, vocab)  logits; softmax in the loss
 * </pre>
 * The recurrent state is carried between batches: {@link #forward(Tensor, Lstm.State)} takes the state
 * left by the previous batch and returns the new one, (h, c) each (layers, n, 128). The state passed
 * in is a constant (truncated backpropagation through time, as DeepOBS's state variables).
 *
 * <p>Two layouts ({@link Layout}):
 * <ul>
 *   <li>{@code DEEPOBS} (the default): TensorFlow's LSTMCell, one bias per layer ({@code bias_ih_l<k>},
 *       no {@code bias_hh_l<k>}), and the initializers of DeepOBS's TensorFlow code (checked 2026-11-21
 *       against {@code deepobs/tensorflow/testproblems/tolstoi_char_rnn.py} and TensorFlow's
 *       {@code rnn_cell_impl.LSTMCell}; docs/MODELS.md quotes the lines): every variable made without an
 *       initializer, so {@code tf.get_variable}'s default Glorot uniform with TensorFlow's fans: the
 *       embedding (vocab, 128), the LSTM's input and recurrent weights with the fans of TensorFlow's joint
 *       kernel (in + h, 4h), the softmax weight (128, vocab) and the softmax bias (vocab): fans
 *       (vocab, vocab), U(+-sqrt(3 / vocab)), not zero. The LSTM bias starts at zero and, as in TensorFlow's
 *       cell, a constant {@code forget_bias = 1.0} (not a parameter: not trained, decayed or saved) is added
 *       to the forget gate in every step ({@link Lstm#forgetBias()}), so weight decay pulls the trainable bias
 *       toward 0 as it does TensorFlow's, and a stored bias is TensorFlow's.</li>
 *   <li>{@code PYTORCH}: {@code nn.Embedding} + {@code nn.LSTM} + {@code nn.Linear} with PyTorch's names
 *       and default initializations (N(0, 1) embedding; U(+-1/sqrt(128)) for every LSTM weight and both
 *       biases; U(+-1/sqrt(fan_in)) for the linear layer), for state_dicts of PyTorch models.</li>
 * </ul>
 * Dropout masks come from the dropout generator (see {@link Dropout}); inference mode ({@link #eval()})
 * disables dropout. The four dropouts are DeepOBS's DropoutWrapper(input_keep_prob, output_keep_prob)
 * around each cell: the first layer's output is dropped once as its output and once as the second
 * layer's input, as in TensorFlow's MultiRNNCell of wrapped cells. A mask is drawn per element and
 * time step (TensorFlow draws one per step too; the random streams differ).
 */
public final class CharLstm extends Module {
    /** Parameter layout and initialization (see the class javadoc). */
    public enum Layout { DEEPOBS, PYTORCH }

    public static final int EMBED = 128, HIDDEN = 128, LAYERS = 2;
    public static final double KEEP_PROB = 0.8;

    private final int vocab;
    private final Layout layout;
    public final Embedding embedding;
    public final Lstm lstm;
    public final Linear fc;
    private final Dropout dropout;

    /** DeepOBS's model: 128-dim embedding, 2 x LSTM(128), keep 0.8, the DEEPOBS layout. */
    public CharLstm(int vocab, Generator init, Generator dropout) {
        this(vocab, EMBED, HIDDEN, LAYERS, KEEP_PROB, Layout.DEEPOBS, init, dropout);
    }

    public CharLstm(int vocab, int embed, int hidden, int layers, double keepProb, Layout layout, Generator init, Generator dropout) {
        if (vocab <= 0) throw new IllegalArgumentException("CharLstm: vocab must be positive, got " + vocab);
        if (!(keepProb > 0 && keepProb <= 1)) throw new IllegalArgumentException("CharLstm: keepProb must be in (0, 1], got " + keepProb);
        this.vocab = vocab;
        this.layout = layout;
        embedding = register("embedding", new Embedding(vocab, embed, init));
        boolean pytorch = layout == Layout.PYTORCH;
        lstm = register("lstm", new Lstm(embed, hidden, layers, pytorch, pytorch ? 0.0 : 1.0, init));
        fc = register("fc", new Linear(hidden, vocab, true, init));
        this.dropout = register("dropout", new Dropout(1 - keepProb, dropout));
        if (layout == Layout.DEEPOBS) {
            // TensorFlow's get_variable default: Glorot uniform with fans (shape[0], shape[1]) of the TF variable
            Init.glorotUniform(embedding.weight.data(), vocab, embed, init);
            for (int k = 0; k < layers; k++) {
                int in = k == 0 ? embed : hidden;
                Init.glorotUniform(lstm.weightIh(k).data(), in + hidden, 4 * hidden, init);
                Init.glorotUniform(lstm.weightHh(k).data(), in + hidden, 4 * hidden, init);
                lstm.biasIh(k).data().zeroInPlace(); // TensorFlow's zeros; its forget_bias is the Lstm's constant
            }
            Init.glorotUniform(fc.weight.data(), hidden, vocab, init);
            // DeepOBS's softmax_b is tf.get_variable("softmax_b", [vocab]) with no initializer: Glorot
            // uniform too, with TensorFlow's fans of a 1-D variable, fan_in = fan_out = vocab
            Init.glorotUniform(fc.bias.data(), vocab, vocab, init);
        }
    }

    public int vocab() {
        return vocab;
    }

    public Layout layout() {
        return layout;
    }

    /** The logits and the state to pass to the next batch. */
    public record Output(Variable logits, Lstm.State state) {}

    /** A zero state for a batch of n sequences, each (layers, n, hidden). */
    public Lstm.State zeroState(int n) {
        return lstm.zeroState(n);
    }

    /** x holds INT32 tokens (n, t); returns logits (n, t, vocab) from a zero state. */
    @Override
    public Variable forward(Variable x) {
        Output out = forward(x.data(), null);
        out.state().close();
        return out.logits();
    }

    /**
     * tokens (n, t) INT32; state (h, c) each (layers, n, hidden) from the previous batch, or null for
     * zeros. Returns logits (n, t, vocab) and the final state (new tensors in the current scope: see
     * {@link Lstm.State#escape()}).
     */
    public Output forward(Tensor tokens, Lstm.State state) {
        if (tokens.dim() != 2 || tokens.dtype() != DType.INT32) {
            throw new IllegalArgumentException("CharLstm: expects INT32 tokens of shape (n, t), got " + tokens.dtype() + " " + tokens.shape());
        }
        int n = tokens.size(0), t = tokens.size(1), hidden = lstm.hiddenSize();
        // time-major tokens (t, n); the embedding keeps them for its backward, so the scope frees them
        Tensor timeMajor = tokens.transpose(0, 1).contiguous();
        Variable x = embedding.forward(timeMajor); // (t, n, embed)
        if (state != null && !state.h().shape().equals(Shape.of(lstm.numLayers(), n, hidden))) {
            throw new IllegalArgumentException("CharLstm: state of shape " + state.h().shape() + " for a batch of " + n
                    + " sequences (expected (" + lstm.numLayers() + ", " + n + ", " + hidden + "))");
        }
        Variable[] hs = new Variable[lstm.numLayers()], cs = new Variable[lstm.numLayers()];
        for (int k = 0; k < lstm.numLayers(); k++) {
            Variable h0 = state == null ? null : new Variable(state.h().select(0, k));
            Variable c0 = state == null ? null : new Variable(state.c().select(0, k));
            Lstm.LayerOutput lo = lstm.forwardLayer(k, dropout.forward(x), h0, c0);
            x = dropout.forward(lo.output());
            hs[k] = lo.h();
            cs[k] = lo.c();
        }
        Variable logits = fc.forward(x.reshape(t * n, hidden)).reshape(t, n, vocab).permute(1, 0, 2);
        return new Output(logits, Lstm.State.stack(hs, cs));
    }

    /** Mean softmax cross-entropy over every position: logits (n, t, vocab), targets (n, t) INT32. */
    public static Variable loss(Variable logits, Tensor targets) {
        int n = logits.size(0), t = logits.size(1);
        if (!targets.shape().equals(Shape.of(n, t))) {
            throw new IllegalArgumentException("CharLstm.loss: targets " + targets.shape() + " do not match logits " + logits.shape());
        }
        // the loss keeps the flat targets for its backward: the enclosing scope frees them
        return Functional.crossEntropy(logits.reshape(n * t, logits.size(2)), targets.reshape(n * t));
    }
}
