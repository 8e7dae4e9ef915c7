package optlab.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import optlab.kernels.Backend;
import optlab.kernels.Backends;
import optlab.kernels.BinaryOp;
import optlab.kernels.Buffer;
import optlab.kernels.DType;
import optlab.kernels.Device;
import optlab.kernels.Ptr;
import optlab.kernels.RandomDistribution;
import optlab.kernels.ReduceOp;
import optlab.kernels.Strides;
import optlab.kernels.UnaryOp;

/**
 * An n-dimensional array: a shape, a dtype, a device, and a strided window onto a {@link Buffer}. Ops
 * dispatch to the device's {@link Backend}. This class knows nothing of gradients: the autograd module
 * wraps tensors in {@code Variable}s and records what is done to them.
 *
 * <p>Conventions (PyTorch's, unless noted):
 * <ul>
 *   <li>Binary ops broadcast with NumPy's rules; operands must share dtype and device (no implicit
 *       promotion: the error names both).</li>
 *   <li>Methods documented as <b>views</b> share this tensor's buffer: writing through one is seen by
 *       the other. Every other op returns a new tensor.</li>
 *   <li>Methods named {@code ...InPlace} (and {@link #copyFrom}) modify this tensor and return it.</li>
 *   <li>Lifetimes are explicit (NOTE [lifetimes]): {@link #close()} frees the buffer once no view uses
 *       it; a {@link Scope} closes everything created inside it. Use after free throws.</li>
 * </ul>
 */
public final class Tensor implements AutoCloseable {
    private final Storage storage;
    private final Shape shape;
    private final int[] strides;
    private final int offset;
    private boolean closed;
    /** The scope that will close this tensor, if any (managed by {@link Scope}). */
    Scope owner;

    private Tensor(Storage storage, Shape shape, int[] strides, int offset) {
        storage.retain();
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        Scope.track(this);
    }

    // ================================================================================================
    // Creation
    // ================================================================================================

    /** A new tensor with unspecified contents (NaN in tests: NOTE [poison]). */
    public static Tensor empty(Shape shape, DType dtype, Device device) {
        Buffer buffer = Backends.of(device).allocate(dtype, shape.numel());
        return new Tensor(new Storage(buffer), shape, Strides.contiguous(shape.toArray()), 0);
    }

    /** A new FLOAT32 tensor on the CPU with unspecified contents. */
    public static Tensor empty(int... shape) {
        return empty(Shape.of(shape), DType.FLOAT32, Device.CPU);
    }

    public static Tensor full(Shape shape, double value, DType dtype, Device device) {
        Tensor t = empty(shape, dtype, device);
        t.backend().fill(t.ptr(), t.numel(), value);
        return t;
    }

    public static Tensor zeros(Shape shape, DType dtype, Device device) {
        return full(shape, 0, dtype, device);
    }

    /** FLOAT32 zeros on the CPU. */
    public static Tensor zeros(int... shape) {
        return full(Shape.of(shape), 0, DType.FLOAT32, Device.CPU);
    }

    /** FLOAT32 ones on the CPU. */
    public static Tensor ones(int... shape) {
        return full(Shape.of(shape), 1, DType.FLOAT32, Device.CPU);
    }

    /** A FLOAT32 scalar (shape []) on the CPU. */
    public static Tensor scalar(double value) {
        return full(Shape.SCALAR, value, DType.FLOAT32, Device.CPU);
    }

    /** A new tensor like this one (shape, dtype, device), filled with {@code value}. */
    public Tensor fullLike(double value) {
        return full(shape, value, dtype(), device());
    }

    public Tensor zerosLike() {
        return fullLike(0);
    }

    /** A new tensor like this one with unspecified contents. */
    public Tensor emptyLike() {
        return empty(shape, dtype(), device());
    }

    /** A FLOAT32 CPU tensor holding a copy of {@code data} (row-major) with the given shape. */
    public static Tensor of(float[] data, int... shape) {
        Tensor t = empty(checkedShape(data.length, shape), DType.FLOAT32, Device.CPU);
        t.backend().write(t.ptr(), data, 0, data.length);
        return t;
    }

    /** A FLOAT64 CPU tensor holding a copy of {@code data}. */
    public static Tensor of(double[] data, int... shape) {
        Tensor t = empty(checkedShape(data.length, shape), DType.FLOAT64, Device.CPU);
        t.backend().write(t.ptr(), data, 0, data.length);
        return t;
    }

    /** An INT32 CPU tensor holding a copy of {@code data}. */
    public static Tensor ofInts(int[] data, int... shape) {
        Tensor t = empty(checkedShape(data.length, shape), DType.INT32, Device.CPU);
        t.backend().write(t.ptr(), data, 0, data.length);
        return t;
    }

    private static Shape checkedShape(int length, int[] dims) {
        Shape s = Shape.of(dims);
        if (s.numel() != length) {
            throw new IllegalArgumentException("data of length " + length + " does not fill shape " + s + " (" + s.numel() + " elements)");
        }
        return s;
    }

    /**
     * A tensor of draws from {@code dist} (see {@link RandomDistribution}: uniform on [a, b), or normal /
     * truncated normal with mean a and standard deviation b), taking the generator's next numel()
     * positions. The same generator state gives the same values on every device.
     */
    public static Tensor random(RandomDistribution dist, double a, double b, Generator gen, Shape shape, DType dtype, Device device) {
        Tensor t = empty(shape, dtype, device);
        t.backend().fillRandom(t.ptr(), t.numel(), dist, a, b, gen.seed(), gen.take(t.numel()));
        return t;
    }

    /** In place: fills this contiguous tensor with draws from {@code dist} (see {@link #random}). */
    public Tensor fillRandomInPlace(RandomDistribution dist, double a, double b, Generator gen) {
        if (!isContiguous()) throw new IllegalArgumentException("fillRandomInPlace: tensor of shape " + shape + " is not contiguous");
        backend().fillRandom(ptr(), numel(), dist, a, b, gen.seed(), gen.take(numel()));
        return this;
    }

    /** Standard normal FLOAT32 CPU tensor. */
    public static Tensor randn(Generator gen, int... shape) {
        return random(RandomDistribution.NORMAL, 0, 1, gen, Shape.of(shape), DType.FLOAT32, Device.CPU);
    }

    /** Uniform [0, 1) FLOAT32 CPU tensor. */
    public static Tensor rand(Generator gen, int... shape) {
        return random(RandomDistribution.UNIFORM, 0, 1, gen, Shape.of(shape), DType.FLOAT32, Device.CPU);
    }

    // ================================================================================================
    // Properties
    // ================================================================================================

    public Shape shape() {
        return shape;
    }

    public int dim() {
        return shape.rank();
    }

    /** Size of dimension d (negative counts from the end). */
    public int size(int d) {
        return shape.get(d);
    }

    public int numel() {
        return shape.numel();
    }

    public DType dtype() {
        return storage.buffer.dtype();
    }

    public Device device() {
        return storage.buffer.backend().device();
    }

    public Backend backend() {
        return storage.buffer.backend();
    }

    public int[] strides() {
        return strides.clone();
    }

    /** Element offset of this tensor's first element in its buffer. */
    public int offset() {
        return offset;
    }

    /** True if the elements are laid out row-major without gaps (size-1 dimensions ignored). */
    public boolean isContiguous() {
        int expected = 1;
        for (int d = shape.rank() - 1; d >= 0; d--) {
            if (shape.get(d) == 1) continue;
            if (strides[d] != expected) return false;
            expected *= shape.get(d);
        }
        return true;
    }

    /**
     * Where this tensor's first element is, for calling {@link Backend} primitives directly (fused
     * optimizer kernels, the NN ops). Compact primitives need {@link #isContiguous()} to hold.
     */
    public Ptr ptr() {
        checkOpen();
        return storage.buffer.ptr(offset);
    }

    /** True if both tensors view the same buffer. */
    public boolean sharesStorageWith(Tensor other) {
        return storage == other.storage;
    }

    public boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("tensor " + shape + " " + dtype() + " was freed (closed explicitly or by its Scope)");
        }
    }

    /** Releases this tensor's hold on its buffer; the buffer is freed when no view holds it. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        owner = null;
        storage.release();
    }

    // ================================================================================================
    // Views
    // ================================================================================================

    private Tensor view(Shape s, int[] st, int off) {
        checkOpen();
        return new Tensor(storage, s, st, off);
    }

    /**
     * View with a new shape (one entry may be -1, inferred). Needs a contiguous tensor; use
     * {@link #reshape} otherwise.
     */
    public Tensor view(int... newShape) {
        Shape s = inferShape("view", newShape);
        if (!isContiguous()) {
            throw new IllegalArgumentException("view: tensor of shape " + shape + " with strides " + Arrays.toString(strides)
                    + " is not contiguous; use reshape (which copies)");
        }
        return view(s, Strides.contiguous(s.toArray()), offset);
    }

    /** {@link #view} when contiguous, else a contiguous copy with the new shape. */
    public Tensor reshape(int... newShape) {
        if (isContiguous()) return view(newShape);
        try (Tensor c = contiguous()) {
            return c.view(newShape);
        }
    }

    private Shape inferShape(String op, int[] dims) {
        int infer = -1, known = 1;
        int[] d = dims.clone();
        for (int i = 0; i < d.length; i++) {
            if (d[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException(op + ": only one dimension may be -1 in " + Arrays.toString(dims));
                infer = i;
            } else {
                known *= d[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0) {
                throw new IllegalArgumentException(op + ": shape " + Arrays.toString(dims) + " is invalid for a tensor of shape " + shape);
            }
            d[infer] = numel() / known;
        }
        Shape s = Shape.of(d);
        if (s.numel() != numel()) {
            throw new IllegalArgumentException(op + ": shape " + s + " is invalid for a tensor of shape " + shape + " (" + numel() + " elements)");
        }
        return s;
    }

    /** View with dimensions d0 and d1 swapped. */
    public Tensor transpose(int d0, int d1) {
        int a = shape.axis(d0), b = shape.axis(d1);
        int[] order = new int[dim()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        order[a] = b;
        order[b] = a;
        return permute(order);
    }

    /** View of a 2-D tensor transposed. */
    public Tensor t() {
        if (dim() != 2) throw new IllegalArgumentException("t: expects a 2-D tensor, got shape " + shape);
        return transpose(0, 1);
    }

    /** View with the dimensions reordered: new dimension i is old dimension order[i]. */
    public Tensor permute(int... order) {
        if (order.length != dim()) {
            throw new IllegalArgumentException("permute: order " + Arrays.toString(order) + " does not match shape " + shape);
        }
        int[] s = new int[dim()], st = new int[dim()];
        boolean[] seen = new boolean[dim()];
        for (int i = 0; i < order.length; i++) {
            int a = shape.axis(order[i]);
            if (seen[a]) throw new IllegalArgumentException("permute: repeated dimension in " + Arrays.toString(order));
            seen[a] = true;
            s[i] = shape.get(a);
            st[i] = strides[a];
        }
        return view(Shape.of(s), st, offset);
    }

    /** View of {@code length} entries of dimension {@code dim} from {@code start}. */
    public Tensor narrow(int dim, int start, int length) {
        int a = shape.axis(dim);
        if (start < 0 || length < 0 || start + length > shape.get(a)) {
            throw new IllegalArgumentException("narrow: [" + start + ", " + (start + length) + ") is outside dimension " + dim
                    + " of shape " + shape);
        }
        return view(shape.with(a, length), strides, offset + start * strides[a]);
    }

    /** View {@code x[..., start:end:step, ...]} along {@code dim} (step > 0), as Python slicing. */
    public Tensor slice(int dim, int start, int end, int step) {
        int a = shape.axis(dim);
        if (step <= 0) throw new IllegalArgumentException("slice: step must be positive, got " + step);
        int n = shape.get(a);
        int s = Math.clamp(start < 0 ? start + n : start, 0, n), e = Math.clamp(end < 0 ? end + n : end, 0, n);
        int len = e > s ? (e - s + step - 1) / step : 0;
        int[] st = strides.clone();
        st[a] *= step;
        return view(shape.with(a, len), st, offset + s * strides[a]);
    }

    /** View with dimension {@code dim} removed at position {@code index}. */
    public Tensor select(int dim, int index) {
        int a = shape.axis(dim);
        int n = shape.get(a);
        int i = index < 0 ? index + n : index;
        if (i < 0 || i >= n) throw new IllegalArgumentException("select: index " + index + " out of range for dimension " + dim + " of shape " + shape);
        return view(Shape.of(remove(shape.toArray(), a)), remove(strides, a), offset + i * strides[a]);
    }

    /** View with a new dimension of size 1 at position d (which may equal dim()). */
    public Tensor unsqueeze(int d) {
        int a = d < 0 ? d + dim() + 1 : d;
        if (a < 0 || a > dim()) throw new IllegalArgumentException("unsqueeze: dimension " + d + " out of range for shape " + shape);
        int stride = a < dim() ? strides[a] * shape.get(a) : 1;
        return view(Shape.of(insert(shape.toArray(), a, 1)), insert(strides, a, stride), offset);
    }

    /** View without dimension d, which must have size 1. */
    public Tensor squeeze(int d) {
        int a = shape.axis(d);
        if (shape.get(a) != 1) throw new IllegalArgumentException("squeeze: dimension " + d + " of shape " + shape + " is not 1");
        return view(Shape.of(remove(shape.toArray(), a)), remove(strides, a), offset);
    }

    /** View of dimensions start..end (inclusive) merged into one; reshapes (copies) if they are not contiguous. */
    public Tensor flatten(int start, int end) {
        int a = shape.axis(start), b = shape.axis(end);
        int[] s = shape.toArray();
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < a; i++) out.add(s[i]);
        int merged = 1;
        for (int i = a; i <= b; i++) merged *= s[i];
        out.add(merged);
        for (int i = b + 1; i < s.length; i++) out.add(s[i]);
        return reshape(out.stream().mapToInt(Integer::intValue).toArray());
    }

    /** View broadcast to {@code target} (stride 0 along expanded dimensions). */
    public Tensor expand(Shape target) {
        return view(target, broadcastStrides("expand", target), offset);
    }

    /** This tensor's strides when broadcast to {@code target}: 0 where a dimension is added or expanded. */
    private int[] broadcastStrides(String op, Shape target) {
        int lead = target.rank() - dim();
        if (lead < 0) throw new IllegalArgumentException(op + ": cannot broadcast shape " + shape + " to " + target);
        int[] st = new int[target.rank()];
        for (int i = 0; i < dim(); i++) {
            int size = shape.get(i), t = target.get(lead + i);
            if (size == t) st[lead + i] = strides[i];
            else if (size == 1) st[lead + i] = 0;
            else throw new IllegalArgumentException(op + ": cannot broadcast shape " + shape + " to " + target);
        }
        return st;
    }

    private static int[] remove(int[] a, int i) {
        int[] r = new int[a.length - 1];
        System.arraycopy(a, 0, r, 0, i);
        System.arraycopy(a, i + 1, r, i, a.length - i - 1);
        return r;
    }

    private static int[] insert(int[] a, int i, int v) {
        int[] r = new int[a.length + 1];
        System.arraycopy(a, 0, r, 0, i);
        r[i] = v;
        System.arraycopy(a, i, r, i + 1, a.length - i);
        return r;
    }

    // ================================================================================================
    // Copies and conversions
    // ================================================================================================

    /** A contiguous tensor with this one's values: a view of this when already contiguous, else a copy. */
    public Tensor contiguous() {
        if (isContiguous()) return view(shape, strides, offset);
        return copy();
    }

    /** A new contiguous copy (PyTorch's clone). */
    public Tensor copy() {
        Tensor r = emptyLike();
        r.copyFrom(this);
        return r;
    }

    /** Converted to {@code dtype}: a view of this when it already has it, else a converted copy. */
    public Tensor to(DType dtype) {
        if (dtype == dtype()) return view(shape, strides, offset);
        Tensor r = empty(shape, dtype, device());
        r.copyFrom(this);
        return r;
    }

    /** A copy on {@code device} (a view of this when already there). */
    public Tensor to(Device device) {
        if (device.equals(device())) return view(shape, strides, offset);
        try (Tensor c = contiguous()) {
            Tensor r = empty(shape, dtype(), device);
            switch (dtype()) {
                case FLOAT32 -> r.backend().write(r.ptr(), c.toFloatArray(), 0, numel());
                case FLOAT64 -> r.backend().write(r.ptr(), c.toDoubleArray(), 0, numel());
                case INT32 -> r.backend().write(r.ptr(), c.toIntArray(), 0, numel());
            }
            return r;
        }
    }

    /**
     * In place: copies {@code src} (broadcast to this shape, converted to this dtype) into this tensor,
     * which may be a view. src must not overlap this tensor's elements.
     */
    public Tensor copyFrom(Tensor src) {
        checkDevice("copyFrom", src);
        backend().copy(shape.toArray(), ptr(), strides, src.ptr(), src.broadcastStrides("copyFrom", shape));
        return this;
    }

    /** Concatenation along {@code dim}; all other dimensions must agree. */
    public static Tensor cat(int dim, Tensor... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("cat: no tensors");
        Tensor first = parts[0];
        int a = first.shape.axis(dim), total = 0;
        for (Tensor p : parts) {
            first.checkSame("cat", p);
            if (p.dim() != first.dim()) throw new IllegalArgumentException("cat: shapes " + first.shape + " and " + p.shape + " differ in rank");
            for (int d = 0; d < first.dim(); d++) {
                if (d != a && p.size(d) != first.size(d)) {
                    throw new IllegalArgumentException("cat: shapes " + first.shape + " and " + p.shape + " differ outside dimension " + dim);
                }
            }
            total += p.size(a);
        }
        Tensor out = empty(first.shape.with(a, total), first.dtype(), first.device());
        int at = 0;
        for (Tensor p : parts) {
            try (Tensor slot = out.narrow(a, at, p.size(a))) {
                slot.copyFrom(p);
            }
            at += p.size(a);
        }
        return out;
    }

    // ================================================================================================
    // Elementwise
    // ================================================================================================

    private void checkDevice(String op, Tensor o) {
        checkOpen();
        o.checkOpen();
        if (!device().equals(o.device())) {
            throw new IllegalArgumentException(op + ": tensors on different devices, " + device() + " and " + o.device());
        }
    }

    private void checkSame(String op, Tensor o) {
        checkDevice(op, o);
        if (dtype() != o.dtype()) {
            throw new IllegalArgumentException(op + ": dtypes differ, " + dtype() + " " + shape + " and " + o.dtype() + " " + o.shape);
        }
    }

    /** out = op(this, other), broadcast. */
    public Tensor binary(BinaryOp op, Tensor other) {
        String name = op.name().toLowerCase(Locale.ROOT);
        checkSame(name, other);
        Shape out = Shape.broadcast(name, shape, other.shape);
        Tensor r = empty(out, dtype(), device());
        backend().binary(op, out.toArray(), r.ptr(), r.strides, ptr(), broadcastStrides(name, out),
                other.ptr(), other.broadcastStrides(name, out));
        return r;
    }

    /** y = op(this; alpha), elementwise. */
    public Tensor unary(UnaryOp op, double alpha) {
        try (Tensor src = contiguous()) {
            Tensor r = empty(shape, dtype(), device());
            backend().unary(op, alpha, numel(), src.ptr(), r.ptr());
            return r;
        }
    }

    public Tensor add(Tensor o) { return binary(BinaryOp.ADD, o); }

    public Tensor sub(Tensor o) { return binary(BinaryOp.SUB, o); }

    public Tensor mul(Tensor o) { return binary(BinaryOp.MUL, o); }

    public Tensor div(Tensor o) { return binary(BinaryOp.DIV, o); }

    public Tensor maximum(Tensor o) { return binary(BinaryOp.MAX, o); }

    public Tensor minimum(Tensor o) { return binary(BinaryOp.MIN, o); }

    public Tensor add(double s) { return unary(UnaryOp.ADD_SCALAR, s); }

    public Tensor sub(double s) { return unary(UnaryOp.ADD_SCALAR, -s); }

    public Tensor mul(double s) { return unary(UnaryOp.MUL_SCALAR, s); }

    public Tensor div(double s) { return unary(UnaryOp.MUL_SCALAR, 1.0 / s); }

    /** s - this */
    public Tensor rsub(double s) { return unary(UnaryOp.RSUB_SCALAR, s); }

    public Tensor pow(double exponent) { return unary(UnaryOp.POW_SCALAR, exponent); }

    public Tensor neg() { return unary(UnaryOp.NEG, 0); }

    public Tensor exp() { return unary(UnaryOp.EXP, 0); }

    public Tensor log() { return unary(UnaryOp.LOG, 0); }

    public Tensor sqrt() { return unary(UnaryOp.SQRT, 0); }

    public Tensor abs() { return unary(UnaryOp.ABS, 0); }

    public Tensor square() { return unary(UnaryOp.SQUARE, 0); }

    public Tensor reciprocal() { return unary(UnaryOp.RECIPROCAL, 0); }

    public Tensor relu() { return unary(UnaryOp.RELU, 0); }

    public Tensor tanh() { return unary(UnaryOp.TANH, 0); }

    public Tensor sigmoid() { return unary(UnaryOp.SIGMOID, 0); }

    /** In place: this = op(this, other) with other broadcast to this shape. */
    public Tensor binaryInPlace(BinaryOp op, Tensor other) {
        String name = op.name().toLowerCase(Locale.ROOT) + "InPlace";
        checkSame(name, other);
        backend().binary(op, shape.toArray(), ptr(), strides, ptr(), strides, other.ptr(), other.broadcastStrides(name, shape));
        return this;
    }

    /** In place: this += other (broadcast). */
    public Tensor addInPlace(Tensor other) {
        return binaryInPlace(BinaryOp.ADD, other);
    }

    /** In place: this = op(this; alpha). */
    public Tensor unaryInPlace(UnaryOp op, double alpha) {
        if (isContiguous()) {
            backend().unary(op, alpha, numel(), ptr(), ptr());
            return this;
        }
        try (Tensor r = unary(op, alpha)) {
            return copyFrom(r);
        }
    }

    /** In place: this *= s. */
    public Tensor mulInPlace(double s) {
        return unaryInPlace(UnaryOp.MUL_SCALAR, s);
    }

    /** In place: every element = value. */
    public Tensor fillInPlace(double value) {
        if (isContiguous()) {
            backend().fill(ptr(), numel(), value);
            return this;
        }
        try (Tensor v = full(Shape.SCALAR, value, dtype(), device())) {
            return copyFrom(v);
        }
    }

    public Tensor zeroInPlace() {
        return fillInPlace(0);
    }

    // ================================================================================================
    // Reductions
    // ================================================================================================

    /** Sum of all elements, shape []. */
    public Tensor sum() {
        return reduce(ReduceOp.SUM, allDims(), false);
    }

    public Tensor sum(int dim, boolean keepDim) {
        return reduce(ReduceOp.SUM, new int[] {dim}, keepDim);
    }

    public Tensor sum(int[] dims, boolean keepDim) {
        return reduce(ReduceOp.SUM, dims, keepDim);
    }

    /** Mean of all elements, shape []. */
    public Tensor mean() {
        return reduce(ReduceOp.MEAN, allDims(), false);
    }

    public Tensor mean(int dim, boolean keepDim) {
        return reduce(ReduceOp.MEAN, new int[] {dim}, keepDim);
    }

    public Tensor mean(int[] dims, boolean keepDim) {
        return reduce(ReduceOp.MEAN, dims, keepDim);
    }

    public Tensor max(int dim, boolean keepDim) {
        return reduce(ReduceOp.MAX, new int[] {dim}, keepDim);
    }

    /** Max of all elements, shape []. */
    public Tensor max() {
        return reduce(ReduceOp.MAX, allDims(), false);
    }

    private int[] allDims() {
        int[] d = new int[dim()];
        for (int i = 0; i < d.length; i++) d[i] = i;
        return d;
    }

    /**
     * Reduces over {@code dims}: each run of adjacent dimensions is one backend call over an
     * (outer, size, inner) view, runs taken last to first so the axes of earlier runs stay put.
     */
    public Tensor reduce(ReduceOp op, int[] dims, boolean keepDim) {
        checkOpen();
        if (!dtype().isFloating()) throw new IllegalArgumentException(op + ": needs a floating tensor, got " + dtype());
        boolean[] reduced = new boolean[dim()];
        for (int d : dims) reduced[shape.axis(d)] = true;
        int[] cur = shape.toArray();
        Tensor x = contiguous();
        for (int end = dim() - 1; end >= 0; ) {
            if (!reduced[end]) {
                end--;
                continue;
            }
            int start = end;
            while (start > 0 && reduced[start - 1]) start--;
            int outer = 1, size = 1, inner = 1;
            for (int i = 0; i < start; i++) outer *= cur[i];
            for (int i = start; i <= end; i++) size *= cur[i];
            for (int i = end + 1; i < cur.length; i++) inner *= cur[i];
            for (int i = start; i <= end; i++) cur[i] = 1;
            Tensor y = empty(Shape.of(cur), dtype(), device());
            if (outer * inner > 0) {
                if (size == 0) {
                    if (op != ReduceOp.SUM) throw new IllegalArgumentException(op + ": cannot reduce an empty dimension of shape " + shape);
                    y.zeroInPlace();
                } else {
                    backend().reduce(op, outer, size, inner, x.ptr(), y.ptr());
                }
            }
            x.close();
            x = y;
            end = start - 1;
        }
        if (keepDim) return x;
        int[] kept = new int[dim()];
        int k = 0;
        for (int i = 0; i < dim(); i++) if (!reduced[i]) kept[k++] = shape.get(i);
        try (Tensor full = x) {
            return full.view(Arrays.copyOf(kept, k));
        }
    }

    /** Index (INT32) of the first maximum along {@code dim}. */
    public Tensor argmax(int dim, boolean keepDim) {
        int a = shape.axis(dim);
        int outer = 1, inner = 1;
        for (int i = 0; i < a; i++) outer *= shape.get(i);
        for (int i = a + 1; i < dim(); i++) inner *= shape.get(i);
        try (Tensor x = contiguous()) {
            Tensor idx = empty(shape.with(a, 1), DType.INT32, device());
            backend().argmax(outer, shape.get(a), inner, x.ptr(), idx.ptr());
            if (keepDim) return idx;
            try (idx) {
                return idx.squeeze(a);
            }
        }
    }

    /**
     * Sums this tensor down to {@code target}, the shape it was broadcast from (the backward of a
     * broadcast). A view of this when the shapes are equal.
     */
    public Tensor sumTo(Shape target) {
        if (shape.equals(target)) return view(shape, strides, offset);
        int lead = dim() - target.rank();
        if (lead < 0) throw new IllegalArgumentException("sumTo: cannot reduce shape " + shape + " to " + target);
        List<Integer> dims = new ArrayList<>();
        for (int i = 0; i < dim(); i++) {
            if (i < lead) dims.add(i);
            else if (target.get(i - lead) == 1 && shape.get(i) != 1) dims.add(i);
            else if (target.get(i - lead) != shape.get(i)) {
                throw new IllegalArgumentException("sumTo: cannot reduce shape " + shape + " to " + target);
            }
        }
        try (Tensor s = reduce(ReduceOp.SUM, dims.stream().mapToInt(Integer::intValue).toArray(), true)) {
            return s.view(target.toArray());
        }
    }

    // ================================================================================================
    // Matrix multiply
    // ================================================================================================

    /**
     * Matrix product. 2-D: (m, k) x (k, n) -> (m, n). 3-D batched: (b, m, k) x (b, k, n) -> (b, m, n).
     * A transposed 2-D view (such as {@code w.t()}) is passed to GEMM as a transpose flag, without a copy.
     */
    public Tensor matmul(Tensor other) {
        checkSame("matmul", other);
        if (dim() == 2 && other.dim() == 2) {
            if (size(1) != other.size(0)) {
                throw new IllegalArgumentException("matmul: shapes " + shape + " and " + other.shape + " cannot be multiplied ("
                        + size(1) + " != " + other.size(0) + ")");
            }
            Tensor out = empty(Shape.of(size(0), other.size(1)), dtype(), device());
            gemmInto(this, other, out, 0.0);
            return out;
        }
        if (dim() == 3 && other.dim() == 3) {
            if (size(0) != other.size(0) || size(2) != other.size(1)) {
                throw new IllegalArgumentException("matmul: shapes " + shape + " and " + other.shape + " cannot be multiplied");
            }
            try (Tensor a = contiguous(); Tensor b = other.contiguous()) {
                int bt = size(0), m = size(1), k = size(2), n = other.size(2);
                Tensor out = empty(Shape.of(bt, m, n), dtype(), device());
                backend().gemm(false, false, m, n, k, 1.0, a.ptr(), k, b.ptr(), n, 0.0, out.ptr(), n, bt, m * k, k * n, m * n);
                return out;
            }
        }
        throw new IllegalArgumentException("matmul: expects 2-D x 2-D or 3-D x 3-D, got shapes " + shape + " and " + other.shape);
    }

    /**
     * out = a . b + beta * out for 2-D tensors; out must be contiguous. A row-major or a transposed
     * (column-major) operand goes straight to GEMM; anything else is copied first.
     */
    public static void gemmInto(Tensor a, Tensor b, Tensor out, double beta) {
        if (a.dim() != 2 || b.dim() != 2 || !out.isContiguous() || out.size(0) != a.size(0) || out.size(1) != b.size(1)
                || a.size(1) != b.size(0)) {
            throw new IllegalArgumentException("gemmInto: shapes " + a.shape + " x " + b.shape + " -> " + out.shape);
        }
        a.checkSame("matmul", b);
        a.checkSame("matmul", out);
        Tensor ac = a.gemmLd(false) >= 0 || a.gemmLd(true) >= 0 ? a : a.contiguous();
        Tensor bc = b.gemmLd(false) >= 0 || b.gemmLd(true) >= 0 ? b : b.contiguous();
        try {
            boolean ta = ac.gemmLd(false) < 0, tb = bc.gemmLd(false) < 0;
            int m = out.size(0), n = out.size(1), k = a.size(1);
            out.backend().gemm(ta, tb, m, n, k, 1.0, ac.ptr(), ac.gemmLd(ta), bc.ptr(), bc.gemmLd(tb), beta, out.ptr(), Math.max(1, n), 1, 0, 0, 0);
        } finally {
            if (ac != a) ac.close();
            if (bc != b) bc.close();
        }
    }

    /**
     * The leading dimension with which this 2-D tensor can be handed to GEMM as stored, row-major
     * ({@code transposed} false) or as the transpose of a row-major matrix; -1 if it cannot.
     */
    private int gemmLd(boolean transposed) {
        int rows = transposed ? size(1) : size(0), cols = transposed ? size(0) : size(1);
        int inner = transposed ? strides[0] : strides[1], outer = transposed ? strides[1] : strides[0];
        if (cols > 1 && inner != 1) return -1;
        int ld = rows > 1 ? outer : Math.max(1, cols);
        return ld >= Math.max(1, cols) ? ld : -1;
    }

    // ================================================================================================
    // Host access
    // ================================================================================================

    /** The elements in row-major order, converted to float. */
    public float[] toFloatArray() {
        try (Tensor c = contiguous()) {
            float[] out = new float[numel()];
            backend().read(c.ptr(), out, 0, out.length);
            return out;
        }
    }

    /** The elements in row-major order, converted to double. */
    public double[] toDoubleArray() {
        try (Tensor c = contiguous()) {
            double[] out = new double[numel()];
            backend().read(c.ptr(), out, 0, out.length);
            return out;
        }
    }

    /** The elements of an INT32 tensor in row-major order. */
    public int[] toIntArray() {
        try (Tensor c = contiguous()) {
            int[] out = new int[numel()];
            backend().read(c.ptr(), out, 0, out.length);
            return out;
        }
    }

    /** The value of a one-element tensor. */
    public double item() {
        if (numel() != 1) throw new IllegalArgumentException("item: tensor of shape " + shape + " has " + numel() + " elements, not 1");
        return get(new int[dim()]);
    }

    /** One element, by index. */
    public double get(int... index) {
        if (index.length != dim()) throw new IllegalArgumentException("get: index " + Arrays.toString(index) + " for shape " + shape);
        int at = offset;
        for (int d = 0; d < dim(); d++) {
            int i = index[d];
            if (i < 0 || i >= shape.get(d)) throw new IllegalArgumentException("get: index " + Arrays.toString(index) + " out of range for shape " + shape);
            at += i * strides[d];
        }
        checkOpen();
        double[] one = new double[1];
        backend().read(storage.buffer.ptr(at), one, 0, 1);
        return one[0];
    }

    /** PyTorch-style printing: values, then shape and dtype (and device when not the CPU). */
    @Override
    public String toString() {
        if (closed) return "tensor(<freed>, shape=" + shape + ", dtype=" + dtype() + ")";
        return TensorFormatter.format(this);
    }
}
