package optlab.nn;

import java.util.List;
import optlab.autograd.Variable;

/** Modules applied in order; children are named "0", "1", ... as in PyTorch. */
public final class Sequential extends Module {
    private final List<Module> layers;

    public Sequential(Module... layers) {
        this.layers = List.of(layers);
        for (int i = 0; i < layers.length; i++) register(Integer.toString(i), layers[i]);
    }

    @Override
    public Variable forward(Variable x) {
        for (Module m : layers) x = m.forward(x);
        return x;
    }

    public Module get(int i) {
        return layers.get(i);
    }

    public int size() {
        return layers.size();
    }
}
