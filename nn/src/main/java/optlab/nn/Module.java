package optlab.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import optlab.autograd.Variable;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;

/**
 * A layer or a model: a forward function with named parameters and named child modules, as
 * {@code torch.nn.Module}. Subclasses register what they own in their constructor:
 * <pre>{@code
 * this.conv1 = register("conv1", new Conv2d(1, 32, 5, 1, 2, true, gen));
 * this.weight = register("weight", new Parameter(...));
 * }</pre>
 * {@link #namedParameters()} then yields PyTorch's dotted names ({@code conv1.weight}).
 *
 * <p>Layers create their tensors on the CPU in FLOAT32; {@link #to(Device)} moves a whole model, parameters and
 * buffers, to another device (NOTE [device-placement]), and {@link #to(DType)} converts it to FLOAT64 (NOTE
 * [dtype-conversion]).
 */
public abstract class Module {
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** y = f(x). */
    public abstract Variable forward(Variable x);

    protected final Parameter register(String name, Parameter p) {
        checkName(name);
        parameters.put(name, p);
        p.named(name);
        return p;
    }

    /**
     * Registers state that is not trained but belongs to the model (batch norm's running statistics):
     * saved in checkpoints, moved with the model, never touched by an optimizer. Returns t.
     */
    protected final Tensor registerBuffer(String name, Tensor t) {
        checkName(name);
        buffers.put(name, Scope.escape(t));
        return t;
    }

    /**
     * The buffer this module registered as {@code name} (where it lives now: {@link #to(Device)} replaces
     * buffers, so a layer reads its buffers through this rather than keeping them in fields).
     */
    protected final Tensor buffer(String name) {
        Tensor t = buffers.get(name);
        if (t == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no buffer '" + name + "'; it has " + buffers.keySet());
        return t;
    }

    protected final <M extends Module> M register(String name, M child) {
        checkName(name);
        children.put(name, child);
        return child;
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains(".") || parameters.containsKey(name) || children.containsKey(name)
                || buffers.containsKey(name)) {
            throw new IllegalArgumentException("bad or repeated name '" + name + "' in " + getClass().getSimpleName());
        }
    }

    /** Every parameter of this module and its descendants, by dotted name, in registration order. */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collect(String prefix, Map<String, Parameter> out) {
        for (var e : parameters.entrySet()) out.put(prefix + e.getKey(), e.getValue());
        for (var e : children.entrySet()) e.getValue().collect(prefix + e.getKey() + ".", out);
    }

    /** Every buffer of this module and its descendants, by dotted name. */
    public final Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collectState("", null, out);
        return Collections.unmodifiableMap(out);
    }

    /**
     * Parameters and buffers together, by dotted name, in the order of PyTorch's {@code state_dict()}:
     * a module's own parameters, then its own buffers, then each child's state.
     */
    public final Map<String, Tensor> namedState() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collectState("", out, out);
        return Collections.unmodifiableMap(out);
    }

    private void collectState(String prefix, Map<String, Tensor> params, Map<String, Tensor> bufs) {
        if (params != null) for (var e : parameters.entrySet()) params.put(prefix + e.getKey(), e.getValue().data());
        for (var e : buffers.entrySet()) bufs.put(prefix + e.getKey(), e.getValue());
        for (var e : children.entrySet()) e.getValue().collectState(prefix + e.getKey() + ".", params, bufs);
    }

    public final List<Parameter> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /**
     * This module (named "") and every descendant by dotted name, parents before children, as PyTorch's
     * {@code named_modules()}: how a model visits its layers to initialize them.
     */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collectModules(String name, Map<String, Module> out) {
        out.put(name, this);
        for (var e : children.entrySet()) e.getValue().collectModules(name.isEmpty() ? e.getKey() : name + "." + e.getKey(), out);
    }

    /** The direct children, by name. */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** Total number of parameter elements. */
    public final long parameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) n += p.data().numel();
        return n;
    }

    // ------------------------------------------------------------------------------------------------
    // Devices
    // ------------------------------------------------------------------------------------------------

    /**
     * NOTE [device-placement]: moves every parameter and buffer of this module and its descendants to
     * {@code device}, as PyTorch's {@code module.to(device)}: each tensor is copied there and the old one
     * freed; a parameter keeps its identity (same {@link Parameter} object, new data), and a gradient it
     * holds moves with it. Then {@link ParameterArena#pack(Module)} builds the flat arena on that device
     * and an optimizer over the arena steps there. Every op runs on the backend of its operands'
     * device ({@code Backends.of(device)}); operands on different devices are refused, naming both, and
     * nothing is copied between devices implicitly: inputs are moved with {@code Tensor.to(Device)}.
     *
     * <p>A model already packed into an arena cannot move (its parameters are views of the arena's one
     * buffer, which would be left behind): move it first, then pack. Returns this module.
     *
     * @throws IllegalStateException naming the parameter, when the model is packed and device differs
     */
    public final Module to(Device device) {
        java.util.Objects.requireNonNull(device, "device");
        for (var e : namedParameters().entrySet()) {
            Parameter p = e.getValue();
            if (p.isPacked() && !p.data().device().equals(device)) {
                throw new IllegalStateException("to(" + device + "): parameter " + e.getKey() + " is a view of a ParameterArena on "
                        + p.data().device() + "; move the model before packing it (model.to(device), then ParameterArena.pack(model))");
            }
        }
        moveTo(device);
        return this;
    }

    private void moveTo(Device device) {
        for (Parameter p : parameters.values()) p.moveTo(device);
        for (var e : buffers.entrySet()) {
            Tensor old = e.getValue();
            if (old.device().equals(device)) continue;
            e.setValue(Scope.escape(old.to(device)));
            old.close();
        }
        for (Module c : children.values()) c.moveTo(device);
    }

    /**
     * NOTE [dtype-conversion]: converts every floating parameter and buffer of this module and its
     * descendants to the floating {@code dtype}, as PyTorch's {@code module.double()} /
     * {@code module.to(torch.float64)}: each tensor is converted on its device and the old one freed; a
     * parameter keeps its identity (same {@link Parameter} object, new data) and a gradient it holds is
     * converted with it, as {@link #to(Device)} does (NOTE [device-placement]). INT32 buffers are left
     * as they are. Layers create their weights in FLOAT32 (initializers draw from Philox), so
     * {@code to(DType.FLOAT64)} widens them exactly: a float64 model starts from the very weights of its
     * float32 twin. FLOAT64 to FLOAT32 rounds to nearest. Then pack: the arena takes the parameters'
     * dtype, and the optimizers update a FLOAT64 arena in float64 on the CPU (NOTE [float64-parameters]
     * in {@code optlab.optim.Optimizer}). Inputs must be converted too ({@code Tensor.to(DType)}): ops
     * refuse operands of two dtypes.
     *
     * <p>A model already packed into an arena cannot change dtype (its parameters are views of the
     * arena's one buffer): convert first, then pack. Returns this module.
     *
     * @throws IllegalArgumentException when dtype is not a floating type
     * @throws IllegalStateException    naming the parameter, when the model is packed and dtype differs
     */
    public final Module to(DType dtype) {
        java.util.Objects.requireNonNull(dtype, "dtype");
        if (!dtype.isFloating()) {
            throw new IllegalArgumentException("to(" + dtype + "): parameters and buffers convert to a floating dtype (FLOAT32 or FLOAT64) only");
        }
        for (var e : namedParameters().entrySet()) {
            Parameter p = e.getValue();
            if (p.isPacked() && p.dtype() != dtype) {
                throw new IllegalStateException("to(" + dtype + "): parameter " + e.getKey() + " is a view of a ParameterArena of "
                        + p.dtype() + "; convert the model before packing it (model.to(dtype), then ParameterArena.pack(model))");
            }
        }
        convertTo(dtype);
        return this;
    }

    private void convertTo(DType dtype) {
        for (Parameter p : parameters.values()) p.convertTo(dtype);
        for (var e : buffers.entrySet()) {
            Tensor old = e.getValue();
            if (!old.dtype().isFloating() || old.dtype() == dtype) continue;
            e.setValue(Scope.escape(old.to(dtype)));
            old.close();
        }
        for (Module c : children.values()) c.convertTo(dtype);
    }

    /**
     * The floating dtype of this module's parameters (FLOAT32 for a module without parameters).
     *
     * @throws IllegalStateException naming two parameters of different dtypes
     */
    public final DType dtype() {
        DType found = null;
        String first = null;
        for (var e : namedParameters().entrySet()) {
            DType d = e.getValue().dtype();
            if (found == null) {
                found = d;
                first = e.getKey();
            } else if (found != d) {
                throw new IllegalStateException(getClass().getSimpleName() + " mixes dtypes: " + first + " is " + found + " but "
                        + e.getKey() + " is " + d + " (convert it with to(dtype))");
            }
        }
        return found == null ? DType.FLOAT32 : found;
    }

    /**
     * The device holding this module's parameters and buffers (the CPU for a module with neither).
     *
     * @throws IllegalStateException naming two tensors on different devices
     */
    public final Device device() {
        Device found = null;
        String first = null;
        for (var e : namedState().entrySet()) {
            Device d = e.getValue().device();
            if (found == null) {
                found = d;
                first = e.getKey();
            } else if (!found.equals(d)) {
                throw new IllegalStateException(getClass().getSimpleName() + " is spread over devices: " + first + " is on " + found
                        + " but " + e.getKey() + " is on " + d + " (move it with to(device))");
            }
        }
        return found == null ? Device.CPU : found;
    }

    /** Training mode (the default): dropout drops, batch norm uses and updates batch statistics. */
    public Module train() {
        return setTraining(true);
    }

    /** Inference mode: dropout is the identity, batch norm uses its running statistics. */
    public Module eval() {
        return setTraining(false);
    }

    private Module setTraining(boolean on) {
        training = on;
        for (Module c : children.values()) c.setTraining(on);
        return this;
    }

    public final boolean isTraining() {
        return training;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(getClass().getSimpleName()).append("(");
        if (!children.isEmpty()) {
            for (var e : children.entrySet()) {
                sb.append("\n  (").append(e.getKey()).append("): ").append(e.getValue().toString().replace("\n", "\n  "));
            }
            sb.append("\n");
        } else {
            sb.append(describe());
        }
        return sb.append(")").toString();
    }

    /** The constructor arguments, for printing: {@code in_features=3136, out_features=1024}. */
    protected String describe() {
        return "";
    }
}
