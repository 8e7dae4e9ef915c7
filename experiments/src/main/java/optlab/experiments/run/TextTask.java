package optlab.experiments.run;

import java.util.LinkedHashMap;
import java.util.Map;
import optlab.autograd.Functional;
import optlab.autograd.Grad;
import optlab.autograd.Variable;
import optlab.autograd.functions.CrossEntropy;
import optlab.experiments.data.CharCorpus;
import optlab.experiments.data.TokenStreams;
import optlab.kernels.Device;
import optlab.nn.Lstm;
import optlab.nn.models.CharLstm;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;

/**
 * The character language model (DeepOBS's tolstoi_char_rnn): B parallel streams of the training text, batches of L
 * characters from each, in order, every epoch the same (DeepOBS does not shuffle them); the LSTM state is carried from
 * batch to batch within an epoch (truncated backpropagation: it enters a batch as a constant) and starts from zeros at
 * each epoch.
 *
 * <p>Evaluation (inference mode: no dropout) runs each split as its own B streams from a zero state, carrying the state
 * through the split: the training subset (the first {@code train_eval_size / (B L)} training batches, as DeepOBS's
 * train_eval set), validation and test. It reports the mean loss in nats per character, the accuracy of the next
 * character, and the perplexity exp(loss). Unlike DeepOBS, an evaluation does not reset the training state (it keeps
 * its own), so evaluating mid-epoch changes nothing in training.
 */
final class TextTask implements Task {
    private final CharLstm model;
    private final Device device;
    private final TokenStreams train;
    private final Map<String, TokenStreams> eval = new LinkedHashMap<>();
    private final int batch, seqLength, vocab;
    private final Tensor h, c; // the carried state, (layers, B, hidden), long-lived
    private final int[] x, y;
    private final String describe;
    private final Map<String, Object> record;
    private int next, trainEvalBatches;
    private Lstm.State pending;

    TextTask(CharLstm model, CharCorpus corpus, RunConfig c) {
        this.model = model;
        this.device = model.device();
        this.batch = c.batchSize();
        this.seqLength = c.seqLength();
        this.vocab = corpus.vocabSize();
        train = new TokenStreams(corpus.train(), batch, seqLength);
        long trainEvalChars = c.trainEvalSize() == null ? corpus.test().length : c.trainEvalSize();
        trainEvalBatches = (int) Math.min(train.batches(), trainEvalChars / ((long) batch * seqLength));
        if (trainEvalBatches > 0) eval.put("train", train);
        if (corpus.valid().length > 0) eval.put("valid", new TokenStreams(corpus.valid(), batch, seqLength));
        eval.put("test", new TokenStreams(corpus.test(), batch, seqLength));
        try (Lstm.State zero = model.zeroState(batch)) {
            h = Scope.escape(zero.h().copy());
            this.c = Scope.escape(zero.c().copy());
        }
        x = new int[batch * seqLength];
        y = new int[batch * seqLength];
        describe = String.format("%s: %,d training characters (%d steps per epoch of %d x %d), %,d validation, %,d test; vocabulary %d%s; "
                        + "unigram entropy of the training text %.3f nats", corpus.name(), corpus.train().length, train.batches(), batch, seqLength,
                corpus.valid().length, corpus.test().length, vocab, corpus.unknownCount() > 0 ? " (with <unk>: " + corpus.unknownCount()
                        + " characters of valid/test are not in the training text)" : "", corpus.unigramEntropyNats());
        record = new LinkedHashMap<>();
        record.put("corpus", corpus.name());
        record.put("train_characters", corpus.train().length);
        record.put("valid_characters", corpus.valid().length);
        record.put("test_characters", corpus.test().length);
        record.put("vocabulary_size", vocab);
        record.put("vocabulary", corpus.vocabulary());
        record.put("unknown_characters", corpus.unknownCount());
        record.put("unigram_entropy_nats", corpus.unigramEntropyNats());
        record.put("train_eval_batches", trainEvalBatches);
        record.put("split", "by position: train, then valid, then test (the last part)");
    }

    @Override
    public CharLstm model() {
        return model;
    }

    @Override
    public int stepsPerEpoch() {
        return train.batches();
    }

    @Override
    public long examplesPerStep() {
        return (long) batch * seqLength;
    }

    @Override
    public double chanceLoss() {
        return Math.log(vocab);
    }

    @Override
    public String describe() {
        return describe;
    }

    @Override
    public Map<String, Object> record() {
        return record;
    }

    @Override
    public void seek(int epoch, int k) {
        next = k;
        if (k == 0) {
            h.zeroInPlace();
            c.zeroInPlace();
        }
    }

    @Override
    public Variable nextLoss(double labelSmoothing) {
        if (next >= train.batches()) throw new IllegalStateException("no training batch left: seek first");
        model.train();
        train.batch(next++, x, y);
        CharLstm.Output o = model.forward(Tensor.ofInts(x, batch, seqLength).to(device), new Lstm.State(h, c));
        pending = o.state();
        return loss(o.logits(), Tensor.ofInts(y, batch, seqLength).to(device), labelSmoothing);
    }

    private Variable loss(Variable logits, Tensor targets, double labelSmoothing) {
        int n = batch * seqLength;
        return Functional.crossEntropy(logits.reshape(n, vocab), targets.reshape(n), labelSmoothing, CrossEntropy.Reduction.MEAN);
    }

    /** The new state is copied in only now: the backward still needed the old one (it entered the graph as h0, c0). */
    @Override
    public void afterStep() {
        h.copyFrom(pending.h());
        c.copyFrom(pending.c());
        pending = null;
    }

    @Override
    public Map<String, Double> evaluate() {
        Map<String, Double> out = new LinkedHashMap<>();
        model.eval();
        try (Grad.Mode off = Grad.disabled(); Tensor eh = h.zerosLike(); Tensor ec = c.zerosLike()) {
            boolean first = true;
            for (var e : eval.entrySet()) {
                if (!first) Hooks.reached("mid-eval");
                first = false;
                TokenStreams s = e.getValue();
                int batches = e.getKey().equals("train") ? trainEvalBatches : s.batches();
                eh.zeroInPlace();
                ec.zeroInPlace();
                double lossSum = 0;
                long correct = 0, total = 0;
                int[] ex = new int[batch * seqLength], ey = new int[batch * seqLength];
                for (int k = 0; k < batches; k++) {
                    try (Scope scope = Scope.open()) {
                        s.batch(k, ex, ey);
                        CharLstm.Output o = model.forward(Tensor.ofInts(ex, batch, seqLength).to(device), new Lstm.State(eh, ec));
                        lossSum += loss(o.logits(), Tensor.ofInts(ey, batch, seqLength).to(device), 0).item() * ex.length;
                        int[] predicted = o.logits().data().reshape(ex.length, vocab).argmax(1, false).toIntArray();
                        for (int i = 0; i < ey.length; i++) if (predicted[i] == ey[i]) correct++;
                        total += ey.length;
                        eh.copyFrom(o.state().h());
                        ec.copyFrom(o.state().c());
                    }
                }
                double loss = lossSum / total;
                out.put(e.getKey() + "_loss", loss);
                out.put(e.getKey() + "_accuracy", (double) correct / total);
                out.put(e.getKey() + "_perplexity", Math.exp(loss));
            }
        } finally {
            model.train();
        }
        return out;
    }

    @Override
    public Map<String, Tensor> carriedState() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("lstm_h", h);
        m.put("lstm_c", c);
        return m;
    }

    @Override
    public void close() {
        h.close();
        c.close();
    }
}
