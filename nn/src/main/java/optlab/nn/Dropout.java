package optlab.nn;

import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.tensor.Generator;

/**
 * Inverted dropout, as {@code torch.nn.Dropout(p)}: in training mode each element is zeroed with
 * probability p and the others are scaled by 1/(1-p); in inference mode ({@link Module#eval()}) it is
 * the identity. The mask of each call takes the next numel() positions of the layer's {@link Generator}
 * (NOTE [philox]), so a model's dropout is reproducible from the generator's (seed, counter), which a
 * training checkpoint saves. All dropout layers of a model usually share one generator
 * ({@link #generatorOf}, {@link #setGenerator(Module, Generator)}).
 */
public final class Dropout extends Module {
    private final double p;
    private Generator generator;

    public Dropout(double p, Generator generator) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        if (generator == null && p > 0) throw new IllegalArgumentException("Dropout(p=" + p + "): needs a generator");
        this.p = p;
        this.generator = generator;
    }

    public double p() {
        return p;
    }

    @Override
    public Variable forward(Variable x) {
        return Functional.dropout(x, p, isTraining(), generator);
    }

    public Generator generator() {
        return generator;
    }

    /** Draws future masks from {@code g} (a restored generator, for instance). */
    public void setGenerator(Generator g) {
        if (g == null) throw new IllegalArgumentException("Dropout: generator must not be null");
        generator = g;
    }

    /**
     * The generator shared by every dropout layer of {@code model}, or null if the model has no dropout
     * layer. Throws when its layers use different generators (a checkpoint would then need each).
     */
    public static Generator generatorOf(Module model) {
        Generator found = null;
        String first = null;
        for (var e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof Dropout d) {
                if (found == null) {
                    found = d.generator;
                    first = e.getKey();
                } else if (d.generator != found) {
                    throw new IllegalStateException("dropout layers '" + first + "' and '" + e.getKey() + "' of "
                            + model.getClass().getSimpleName() + " use different generators");
                }
            }
        }
        return found;
    }

    /** Makes every dropout layer of {@code model} draw from {@code g}; returns how many there are. */
    public static int setGenerator(Module model, Generator g) {
        int n = 0;
        for (Module m : model.namedModules().values()) {
            if (m instanceof Dropout d) {
                d.setGenerator(g);
                n++;
            }
        }
        return n;
    }

    @Override
    protected String describe() {
        return "p=" + p;
    }
}
