package optlab.kernels.testkit;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * Marks a test class that needs a GPU. Such tests call {@code Assumptions.assumeTrue(Cuda.probe().usable())}
 * first, so they are skipped (with the probe's reasons) where no GPU is present; on a GPU machine run
 * them alone with {@code -Dgroups=gpu} (Maven) or {@code --include-tag gpu} (JUnit console).
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("gpu")
public @interface GpuTest {}
