package optlab.optim;

import optlab.kernels.DType;
import optlab.nn.Linear;
import optlab.nn.ParameterArena;
import optlab.nn.Sequential;
import optlab.tensor.Generator;
import optlab.tensor.Tensor;

/** Small arenas for the optimizer tests. */
final class Fixtures {
    private Fixtures() {}

    /** An arena holding exactly the values {@code x} (one Linear weight). */
    static ParameterArena arenaOf(float... x) {
        Linear lin = new Linear(x.length, 1, false, new Generator(0));
        lin.weight.data().copyFrom(Tensor.of(x, 1, x.length));
        return ParameterArena.pack(lin);
    }

    /** Two linear layers with biases: 7*5 + 5 + 5*3 + 3 = 58 parameters in four entries. */
    static Sequential twoLayers() {
        return new Sequential(new Linear(7, 5, true, new Generator(1)), new Linear(5, 3, true, new Generator(2)));
    }

    /** Packs {@code model} into groups "decay" (weights) and "no_decay" (biases: rank 1). */
    static ParameterArena grouped(Sequential model) {
        return ParameterArena.pack(model, (name, p) -> p.shape().rank() <= 1 ? "no_decay" : "decay");
    }

    /** {@link #grouped} of {@link #twoLayers()} converted to FLOAT64 (its float32 initialization widened). */
    static ParameterArena grouped64() {
        Sequential m = twoLayers();
        m.to(DType.FLOAT64);
        return grouped(m);
    }

    static void setGrads(ParameterArena arena, float... g) {
        arena.grads().copyFrom(Tensor.of(g, g.length));
    }
}
