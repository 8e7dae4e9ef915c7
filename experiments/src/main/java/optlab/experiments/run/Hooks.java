package optlab.experiments.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import optlab.nn.io.AtomicFiles;

/**
 * A test seam for killing a training process at a chosen moment: with {@code -Doptlab.test.pause=POINT@STEP} and
 * {@code -Doptlab.test.pauseMarker=FILE}, the process writes FILE and sleeps when it reaches POINT during step STEP
 * (the steps done, as metrics count them), so that a test can SIGKILL it exactly there (ResumeTest). Points:
 * <pre>
 *   mid-step          after the backward, before the optimizer's step
 *   mid-eval          between two splits of an evaluation
 *   checkpoint-write  inside the atomic write of checkpoint.safetensors, its temporary file whole, before the rename
 * </pre>
 * Without the properties nothing happens (one null check).
 */
final class Hooks {
    private Hooks() {}

    private static final String PAUSE = System.getProperty("optlab.test.pause");
    private static final String MARKER = System.getProperty("optlab.test.pauseMarker");
    private static volatile long step;

    static {
        if (PAUSE != null && PAUSE.startsWith("checkpoint-write@")) {
            AtomicFiles.beforeRename = target -> {
                if (target.getFileName().toString().equals("checkpoint.safetensors")) reached("checkpoint-write");
            };
        }
    }

    /** The trainer's position: the steps done. */
    static void atStep(long done) {
        step = done;
    }

    /** Pauses forever if the test asked for this point at the current step. */
    static void reached(String point) {
        if (PAUSE == null || !PAUSE.equals(point + "@" + step)) return;
        try {
            Files.writeString(Path.of(MARKER), point + "@" + step);
            Thread.sleep(Long.MAX_VALUE);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("test pause at " + point + ": " + e, e);
        }
    }
}
