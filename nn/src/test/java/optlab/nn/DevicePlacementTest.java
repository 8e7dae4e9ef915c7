package optlab.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import optlab.kernels.Device;
import optlab.nn.models.CifarResNet;
import optlab.tensor.Generator;
import org.junit.jupiter.api.Test;

/**
 * NOTE [device-placement] on the CPU: {@link Module#to} and {@link Module#device()}. Moving to a GPU is in
 * {@code CudaModuleTest} (GPU-tagged); what is refused before anything is copied is checked here.
 */
class DevicePlacementTest {
    @Test
    void toTheDeviceAModelIsAlreadyOnChangesNothing() {
        CifarResNet m = new CifarResNet(8, true, 10, new Generator(0));
        assertEquals(Device.CPU, m.device());
        Parameter w = m.conv1.weight;
        var data = w.data();
        var runningVar = m.bn1.runningVar();
        assertSame(m, m.to(Device.CPU));
        assertSame(data, w.data());
        assertSame(runningVar, m.bn1.runningVar());
        assertSame(runningVar, m.namedBuffers().get("bn1.running_var"));
    }

    @Test
    void aPackedModelCannotMoveAndSaysWhatToDoInstead() {
        CifarResNet m = new CifarResNet(8, true, 10, new Generator(0));
        try (ParameterArena arena = ParameterArena.pack(m)) {
            assertTrue(m.conv1.weight.isPacked());
            float[] before = arena.values().toFloatArray();
            var e = assertThrows(IllegalStateException.class, () -> m.to(Device.cuda(0)));
            assertEquals("to(cuda:0): parameter conv1.weight is a view of a ParameterArena on cpu; move the model before packing it "
                    + "(model.to(device), then ParameterArena.pack(model))", e.getMessage());
            assertSame(m, m.to(Device.CPU)); // where it already is: fine
            assertArrayEquals(before, arena.values().toFloatArray());
            assertTrue(m.conv1.weight.data().sharesStorageWith(arena.values()));
        }
    }

    @Test
    void aModuleWithoutStateIsOnTheCpu() {
        assertEquals(Device.CPU, new ReLU().device());
    }
}
