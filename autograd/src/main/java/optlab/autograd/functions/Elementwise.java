package optlab.autograd.functions;

import optlab.autograd.Function;
import optlab.autograd.Variable;
import optlab.kernels.BinaryOp;
import optlab.kernels.UnaryOp;
import optlab.tensor.Shape;
import optlab.tensor.Tensor;

/**
 * Elementwise functions and their derivatives. Binary ones broadcast; their backward sums back down.
 * Each function whose forward is a unary op first offers it to {@link UserUnary} (NOTE
 * [user-kernel-gradients]), which takes over when x's backend runs a user's kernel for that op (NOTE [kernel-choices]).
 */
public final class Elementwise {
    private Elementwise() {}

    /** y = a + b; da = dy, db = dy (summed over broadcast dimensions). */
    public static final class Add extends Function {
        private Shape a, b;

        public static Variable apply(Variable a, Variable b) {
            Add f = new Add();
            f.a = a.shape();
            f.b = b.shape();
            return f.output(a.data().add(b.data()), a, b);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {needsInputGrad(0) ? dy.sumTo(a) : null, needsInputGrad(1) ? dy.sumTo(b) : null};
        }
    }

    /** y = a - b; da = dy, db = -dy. */
    public static final class Sub extends Function {
        private Shape a, b;

        public static Variable apply(Variable a, Variable b) {
            Sub f = new Sub();
            f.a = a.shape();
            f.b = b.shape();
            return f.output(a.data().sub(b.data()), a, b);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            Tensor db = null;
            if (needsInputGrad(1)) {
                try (Tensor s = dy.sumTo(b)) {
                    db = s.neg();
                }
            }
            return new Tensor[] {needsInputGrad(0) ? dy.sumTo(a) : null, db};
        }
    }

    /** y = a * b; da = dy * b, db = dy * a. */
    public static final class Mul extends Function {
        private Tensor a, b;

        public static Variable apply(Variable a, Variable b) {
            Mul f = new Mul();
            f.a = a.data();
            f.b = b.data();
            return f.output(a.data().mul(b.data()), a, b);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {needsInputGrad(0) ? productSumTo(dy, b, a.shape()) : null,
                    needsInputGrad(1) ? productSumTo(dy, a, b.shape()) : null};
        }
    }

    /** y = a / b; da = dy / b, db = -dy * a / b^2 = -dy * y / b. */
    public static final class Div extends Function {
        private Tensor a, b;

        public static Variable apply(Variable a, Variable b) {
            Div f = new Div();
            f.a = a.data();
            f.b = b.data();
            return f.output(a.data().div(b.data()), a, b);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            Tensor da = null, db = null;
            if (needsInputGrad(0)) {
                try (Tensor q = dy.div(b)) {
                    da = q.sumTo(a.shape());
                }
            }
            if (needsInputGrad(1)) {
                try (Tensor q = dy.mul(a); Tensor b2 = b.square(); Tensor r = q.div(b2); Tensor s = r.sumTo(b.shape())) {
                    db = s.neg();
                }
            }
            return new Tensor[] {da, db};
        }
    }

    private static Tensor productSumTo(Tensor dy, Tensor other, Shape target) {
        try (Tensor p = dy.mul(other)) {
            return p.sumTo(target);
        }
    }

    /**
     * y = scale * x + shift; dx = scale * dy. The forward runs unary mul_scalar (unless scale is 1 and
     * shift is not 0: x * 1 is x exactly) and then add_scalar (when shift is not 0).
     */
    public static final class Affine extends Function {
        private double scale;

        public static Variable apply(Variable x, double scale, double shift) {
            boolean multiplies = shift == 0 || scale != 1;
            boolean userMul = multiplies && UserUnary.userKernel(UnaryOp.MUL_SCALAR, x.data()) != null;
            boolean userAdd = shift != 0 && UserUnary.userKernel(UnaryOp.ADD_SCALAR, x.data()) != null;
            if (userMul || userAdd) {
                // one function per unary op, so each user kernel brings its own backward (NOTE [user-kernel-gradients])
                Variable m = !multiplies ? x : userMul ? UserUnary.apply(UnaryOp.MUL_SCALAR, scale, x) : builtin(x, scale, 0);
                if (shift == 0) return m;
                return userAdd ? UserUnary.apply(UnaryOp.ADD_SCALAR, shift, m) : builtin(m, 1, shift);
            }
            return builtin(x, scale, shift);
        }

        private static Variable builtin(Variable x, double scale, double shift) {
            Affine f = new Affine();
            f.scale = scale;
            Tensor y;
            if (shift == 0) {
                y = x.data().mul(scale);
            } else if (scale == 1) {
                y = x.data().add(shift);
            } else {
                try (Tensor s = x.data().mul(scale)) {
                    y = s.add(shift);
                }
            }
            return f.output(y, x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {scale == 1 ? dy.contiguous() : dy.mul(scale)};
        }
    }

    /** y = x^c; dx = dy * c * x^(c-1). */
    public static final class Pow extends Function {
        private Tensor x;
        private double c;

        public static Variable apply(Variable x, double c) {
            Variable u = c == 2 ? UserUnary.apply(UnaryOp.SQUARE, 0, x) : UserUnary.apply(UnaryOp.POW_SCALAR, c, x);
            if (u != null) return u;
            Pow f = new Pow();
            f.x = x.data();
            f.c = c;
            return f.output(c == 2 ? x.data().square() : x.data().pow(c), x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            try (Tensor d = c == 2 ? x.mul(2.0) : derivative()) {
                return new Tensor[] {dy.mul(d)};
            }
        }

        private Tensor derivative() {
            try (Tensor p = x.pow(c - 1)) {
                return p.mul(c);
            }
        }
    }

    /** y = e^x; dx = dy * y. */
    public static final class Exp extends Function {
        private Tensor y;

        public static Variable apply(Variable x) {
            Variable u = UserUnary.apply(UnaryOp.EXP, 0, x);
            if (u != null) return u;
            Exp f = new Exp();
            f.y = x.data().exp();
            return f.output(f.y, x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {dy.mul(y)};
        }
    }

    /** y = ln x; dx = dy / x. */
    public static final class Log extends Function {
        private Tensor x;

        public static Variable apply(Variable x) {
            Variable u = UserUnary.apply(UnaryOp.LOG, 0, x);
            if (u != null) return u;
            Log f = new Log();
            f.x = x.data();
            return f.output(x.data().log(), x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {dy.div(x)};
        }
    }

    /** y = sqrt x; dx = dy / (2 y). */
    public static final class Sqrt extends Function {
        private Tensor y;

        public static Variable apply(Variable x) {
            Variable u = UserUnary.apply(UnaryOp.SQRT, 0, x);
            if (u != null) return u;
            Sqrt f = new Sqrt();
            f.y = x.data().sqrt();
            return f.output(f.y, x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            try (Tensor twoY = y.mul(2)) {
                return new Tensor[] {dy.div(twoY)};
            }
        }
    }

    /** y = max(x, 0); dx = dy where x > 0, else 0 (the subgradient 0 at x = 0, as in PyTorch). */
    public static final class Relu extends Function {
        private Tensor x;

        public static Variable apply(Variable x) {
            Variable u = UserUnary.apply(UnaryOp.RELU, 0, x);
            if (u != null) return u;
            Relu f = new Relu();
            f.x = x.data();
            return f.output(x.data().relu(), x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {dy.binary(BinaryOp.RELU_BACKWARD, x)};
        }
    }

    /** y = tanh x; dx = dy * (1 - y^2). */
    public static final class Tanh extends Function {
        private Tensor y;

        public static Variable apply(Variable x) {
            Variable u = UserUnary.apply(UnaryOp.TANH, 0, x);
            if (u != null) return u;
            Tanh f = new Tanh();
            f.y = x.data().unary(UnaryOp.TANH, 0);
            return f.output(f.y, x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {dy.binary(BinaryOp.TANH_BACKWARD, y)};
        }
    }

    /** y = 1/(1+e^-x); dx = dy * y * (1 - y). */
    public static final class Sigmoid extends Function {
        private Tensor y;

        public static Variable apply(Variable x) {
            Variable u = UserUnary.apply(UnaryOp.SIGMOID, 0, x);
            if (u != null) return u;
            Sigmoid f = new Sigmoid();
            f.y = x.data().sigmoid();
            return f.output(f.y, x);
        }

        @Override
        protected Tensor[] backward(Tensor dy) {
            return new Tensor[] {dy.binary(BinaryOp.SIGMOID_BACKWARD, y)};
        }
    }
}
