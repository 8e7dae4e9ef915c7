package optlab.experiments.train;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A training loop's progress: a terminal progress bar (rate, ETA, running loss) on a console, and a
 * line every few seconds when output goes to a log. {@link #NONE} for tests.
 */
public interface Progress extends AutoCloseable {
    void step(int images, double loss);

    @Override
    void close();

    Progress NONE = new Progress() {
        @Override
        public void step(int images, double loss) {}

        @Override
        public void close() {}
    };

    /** A progress bar over {@code total} images. */
    static Progress bar(String task, long total) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setUnit(" img", 1)
                .setStyle(ProgressBarStyle.ASCII).showSpeed().setSpeedUnit(ChronoUnit.SECONDS).setMaxRenderedLength(110);
        if (System.console() == null) {
            b.setConsumer(new DelegatingProgressBarConsumer(System.out::println)).setUpdateIntervalMillis(10_000);
        } else {
            b.setUpdateIntervalMillis(300);
        }
        ProgressBar pb = b.build();
        return new Progress() {
            private double recent = Double.NaN;

            @Override
            public void step(int images, double loss) {
                recent = Double.isNaN(recent) ? loss : 0.98 * recent + 0.02 * loss;
                pb.stepBy(images);
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
