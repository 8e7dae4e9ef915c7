package optlab.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;
import optlab.autograd.Functional;
import optlab.autograd.Variable;
import optlab.kernels.DType;
import optlab.nn.Module;
import optlab.nn.ParameterArena;
import optlab.nn.models.AllCnnC;
import optlab.nn.models.CharLstm;
import optlab.nn.models.CifarResNet;
import optlab.nn.models.DenseNetBC;
import optlab.nn.models.ResNet50;
import optlab.nn.models.SimpleCnn;
import optlab.nn.models.Vgg11;
import optlab.optim.Numerics.StatePrecision;
import optlab.tensor.Generator;
import optlab.tensor.Scope;
import optlab.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * NOTE [float64-parameters] end to end: each model of the zoo, small, converted to FLOAT64 and packed,
 * takes a training-mode forward and backward in float64 and an Adam step (float64 state), then an SGD
 * step from the same gradients; each step changes the weights, which stay FLOAT64 and finite. (That
 * the float64 gradients are right is {@code Float64ModelsTest} in the nn module.)
 */
class Float64TrainingTest {
    static Stream<Arguments> models() {
        Function<Integer, Function<Module, Variable>> images = size -> m -> {
            Tensor x = Tensor.randn(new Generator(2), 2, 3, size, size).to(DType.FLOAT64);
            return Functional.crossEntropy(m.forward(new Variable(x)), Tensor.ofInts(new int[] {3, 7}, 2));
        };
        return Stream.of(
                Arguments.of("SimpleCnn", (Supplier<Module>) () -> new SimpleCnn(new Generator(1)), (Function<Module, Variable>) m -> {
                    Tensor x = Tensor.rand(new Generator(2), 2, 1, 28, 28).to(DType.FLOAT64);
                    return Functional.crossEntropy(m.forward(new Variable(x)), Tensor.ofInts(new int[] {3, 7}, 2));
                }),
                Arguments.of("CifarResNet-8 with BN (option-A shortcuts)", (Supplier<Module>) () -> new CifarResNet(8, true, 10, new Generator(1)), images.apply(16)),
                Arguments.of("CifarResNet-8 without BN", (Supplier<Module>) () -> new CifarResNet(8, false, 10, new Generator(1)), images.apply(16)),
                Arguments.of("DenseNet-BC-22 with BN", (Supplier<Module>) () -> new DenseNetBC(22, 12, true, 10, new Generator(1)), images.apply(16)),
                Arguments.of("All-CNN-C (dropout)", (Supplier<Module>) () -> new AllCnnC(10, new Generator(1), new Generator(3)), images.apply(32)),
                Arguments.of("VGG-11 with BN", (Supplier<Module>) () -> new Vgg11(true, 10, new Generator(1)), images.apply(32)),
                Arguments.of("ResNet-50 at 32x32, training mode", (Supplier<Module>) () -> new ResNet50(10, new Generator(1)), images.apply(32)),
                Arguments.of("CharLstm", (Supplier<Module>) () -> new CharLstm(20, 16, 12, 2, 0.8, CharLstm.Layout.DEEPOBS, new Generator(1),
                        new Generator(2)), (Function<Module, Variable>) m -> {
                    int[] tok = new int[3 * 5];
                    for (int i = 0; i < tok.length; i++) tok[i] = (i * 7) % 20;
                    Tensor tokens = Tensor.ofInts(tok, 3, 5);
                    CharLstm.Output out = ((CharLstm) m).forward(tokens, null);
                    return CharLstm.loss(out.logits(), tokens);
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void aFloat64TrainingStepWithAdamThenSgd(String name, Supplier<Module> make, Function<Module, Variable> loss) {
        Module model = make.get().to(DType.FLOAT64);
        OptimizerConfig adamConfig = Presets.builder("pytorch.adamw").lr(1e-3).statePrecision(StatePrecision.FLOAT64).build();
        OptimizerConfig sgdConfig = Presets.builder("choi.sgd").lr(0.1).build();
        try (ParameterArena arena = ParameterArena.pack(model); Optimizer adam = adamConfig.create(arena); Optimizer sgd = sgdConfig.create(arena)) {
            assertEquals(DType.FLOAT64, arena.values().dtype(), name);
            assertEquals("adam_f64", adam.fusedKernel().name());
            assertEquals("sgd_f64", sgd.fusedKernel().name());
            try (Scope s = Scope.open()) {
                Variable l = loss.apply(model);
                assertEquals(DType.FLOAT64, l.dtype(), name);
                assertTrue(Double.isFinite(l.item()), name + ": loss " + l.item());
                adam.zeroGrad();
                l.backward();
            }
            double[] x0 = arena.values().toDoubleArray();
            assertTrue(adam.step(), name + ": Adam skipped its step");
            double[] x1 = arena.values().toDoubleArray();
            assertTrue(sgd.step(), name + ": SGD skipped its step");
            double[] x2 = arena.values().toDoubleArray();
            double[] g = arena.grads().toDoubleArray();
            int changedByAdam = 0, changedBySgd = 0;
            for (int i = 0; i < x0.length; i++) {
                assertTrue(Double.isFinite(x2[i]), name + ": weight " + i + " is " + x2[i]);
                if (x1[i] != x0[i]) changedByAdam++;
                if (x2[i] != x1[i]) changedBySgd++;
                // SGD without decay is x - lr g in double (lr 0.1, eta 1): exactly, so weights with a zero gradient stay
                if (x2[i] != x1[i] - 0.1 * g[i]) throw new AssertionError(name + ": SGD moved weight " + i + " from " + x1[i] + " to " + x2[i]);
            }
            // AdamW's decoupled decay moves every weight that is not 0 (batch norm's zero biases may stay)
            assertTrue(changedByAdam > x0.length / 2, name + ": Adam changed " + changedByAdam + " of " + x0.length + " weights");
            assertTrue(changedBySgd > 0, name + ": SGD changed no weight");
            for (var e : model.namedState().entrySet()) assertEquals(DType.FLOAT64, e.getValue().dtype(), name + ": " + e.getKey());
            for (var e : adam.stateTensors().entrySet()) assertEquals(DType.FLOAT64, e.getValue().dtype(), name + ": " + e.getKey());
            // a float64 step moves weights by amounts no float32 step could: some weight is not a float32 value any more
            boolean wide = false;
            for (double v : x2) wide |= (double) (float) v != v;
            assertTrue(wide, name + ": every weight is still a float32 value");
        }
    }
}
