package optlab.experiments.train;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A training loop's progress: a progress bar redrawn in place (rate, ETA, running loss) on a terminal, and a line
 * every few seconds when the output goes to a file or a pipe. {@link #NONE} for tests.
 *
 * <p>NOTE [terminal-progress]: "a terminal" is what the JVM says ({@code System.console().isTerminal()}: stdin and
 * stdout are a terminal). The bar is drawn on stderr; bin/optlab passes the JVM's stderr through unbuffered (it drops
 * only the JVM's first line, the incubator-module warning), because a line filter would hold back every in-place
 * redraw until the bar ends. ProgressTerminalTest runs a training under a pseudo-terminal and checks that the redraws
 * arrive while it trains.
 */
public interface Progress extends AutoCloseable {
    /** {@code n} more units done; {@code loss} the last step's loss. */
    void step(int n, double loss);

    /** One more step done. */
    default void step(double loss) {
        step(1, loss);
    }

    @Override
    void close();

    Progress NONE = new Progress() {
        @Override
        public void step(int n, double loss) {}

        @Override
        public void close() {}
    };

    /** Makes one progress display per segment of a run (an epoch, or the steps between two evaluations). */
    @FunctionalInterface
    interface Factory {
        Progress create(String task, long steps);

        Factory NONE = (task, steps) -> Progress.NONE;

        /** Bars over steps: redrawn on a terminal, a line every 10 s elsewhere. */
        static Factory bars() {
            return (task, steps) -> bar(task, steps, " steps");
        }
    }

    /** Whether the JVM runs on a terminal (see NOTE [terminal-progress]). */
    static boolean onTerminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    /** A progress bar over {@code total} images. */
    static Progress bar(String task, long total) {
        return bar(task, total, " img");
    }

    /** A progress bar over {@code total} units. */
    static Progress bar(String task, long total, String unit) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setUnit(unit, 1)
                .setStyle(ProgressBarStyle.ASCII).showSpeed().setSpeedUnit(ChronoUnit.SECONDS).setMaxRenderedLength(130);
        if (onTerminal()) {
            b.setUpdateIntervalMillis(300);
        } else {
            b.setConsumer(new DelegatingProgressBarConsumer(System.out::println)).setUpdateIntervalMillis(10_000);
        }
        ProgressBar pb = b.build();
        return new Progress() {
            private double recent = Double.NaN;

            @Override
            public void step(int n, double loss) {
                recent = Double.isNaN(recent) ? loss : 0.98 * recent + 0.02 * loss;
                pb.stepBy(n);
                pb.setExtraMessage(String.format(" loss %.4f", recent));
            }

            @Override
            public void close() {
                pb.close();
            }
        };
    }

    /** Formats a duration as seconds with one decimal. */
    static String seconds(Duration d) {
        return String.format("%.1f s", d.toMillis() / 1000.0);
    }
}
