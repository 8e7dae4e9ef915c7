package optlab.experiments.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import optlab.experiments.CliRun;
import optlab.experiments.OptLab;
import optlab.experiments.run.TinyData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

/**
 * A report built from small sweeps of the sweep tests' kind (a quasi-random one with a validation split, a diverged
 * trial and a trial left pending; a Zhuang-style grid at two loss multipliers), every figure decoded back from PNG
 * and SVG, and the bad inputs of the analysis issue.
 */
class ReportTest {
    @TempDir
    static Path tmp;

    static Path quasi, gridX1, gridX4;

    static String base(Path text) {
        return "{workload: tolstoi_char_rnn, corpus: \"" + text + "\", seq_length: 10, batch_size: 4, steps: 24, eval_every_steps: 8, "
                + "train_eval_size: 120, log_every_steps: 8, checkpoint_every: 24}";
    }

    @BeforeAll
    static void runSmallSweeps() throws IOException {
        Path text = TinyData.text(tmp, 20_000, 5);
        quasi = plan("quasi", """
                name: quasi
                base: %s
                seed: 1
                searches:
                  - name: sgd
                    optimizer: choi.sgd
                    quasirandom: {trials: 3, space: {lr: {min: 0.1, max: 1.0, scaling: log, source: test}}}
                  - name: momentum
                    optimizer: choi.momentum
                    quasirandom: {trials: 4, space: {lr: {min: 0.03, max: 1.0e6, scaling: log, source: "test: the top diverges"}}}
                """.formatted(base(text).replace("train_eval_size: 120", "train_eval_size: 120, valid_fraction: 0.1")));
        runAllBut(quasi, "momentum-003"); // one trial left pending: a partial sweep
        for (String mult : new String[] {"1.0", "4.0"}) {
            Path d = plan("grid" + mult.charAt(0), """
                    name: grid_x%s
                    base: %s
                    trial_seeds: shared
                    searches:
                      - name: adamw
                        optimizer: zhuang.adamw
                        grid: {lr: [1.0e-3, 1.0e-2], weight_decay: [0, 1.0e-3]}
                        sources: {lr: test, weight_decay: test}
                      - name: adam_l2
                        optimizer: zhuang.adam_l2
                        grid: {lr: [1.0e-3, 1.0e-2], weight_decay: [0, 1.0e-3]}
                        sources: {lr: test, weight_decay: test}
                    """.formatted(mult.charAt(0), base(text).replace("steps: 24", "steps: 24, valid_fraction: 0.0, loss_multiplier: " + mult)));
            runAllBut(d, null);
            if (mult.equals("1.0")) gridX1 = d;
            else gridX4 = d;
        }
    }

    private static Path plan(String name, String spec) throws IOException {
        Path f = Files.writeString(tmp.resolve(name + ".yaml"), spec), d = tmp.resolve(name);
        CliRun r = CliRun.of(new OptLab(), "sweep", "plan", f.toString(), "--dir", d.toString());
        assertEquals(0, r.code(), r.err());
        return d;
    }

    /** Runs every trial in this process (sweep run-task), but {@code skip}. */
    private static void runAllBut(Path dir, String skip) {
        for (var t : new optlab.experiments.sweep.SweepDirectory(dir).trials()) {
            if (t.id().equals(skip)) continue;
            CliRun.of(new OptLab(), "sweep", "run-task", dir.toString(), "--trial", t.id());
        }
    }

    @Test
    void aReportOfSeveralSweepsHasItsTablesPagesAndFigures() throws Exception {
        Path out = tmp.resolve("report");
        CliRun r = CliRun.of(new OptLab(), "report", quasi.toString(), gridX1.toString(), gridX4.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("README.md", "quasi.md", "grid_x1.md", "grid_x4.md", "trials.csv", "evals.csv")) assertTrue(Files.exists(out.resolve(f)), f);

        String q = Files.readString(out.resolve("quasi.md"));
        assertTrue(q.contains("scored by its final validation error and reported by its final test error"), q);
        assertTrue(q.contains("`momentum-003` pending"), "the pending trial is named as left out: " + q);
        assertTrue(q.contains("diverged: the training loss"), "the diverged trial is named with its reason: " + q);
        assertTrue(q.contains("## Tuning curves: best of K trials"), q);
        assertTrue(q.contains("includes `sgd`"), "the inclusion momentum > sgd is checked: " + q);
        assertTrue(q.contains("## Steps to a target validation error"), q);

        String g = Files.readString(out.resolve("grid_x1.md"));
        assertTrue(g.contains("over (alpha, lambda) (Zhuang et al.)"), g);
        assertTrue(g.contains("## Learning curves of each optimizer's best setting"), g);
        assertTrue(!g.contains("## Tuning curves"), "a grid sweep gets Zhuang's figures, not Choi's tuning curves");
        String index = Files.readString(out.resolve("README.md"));
        assertTrue(index.contains("## Loss scaling on tolstoi_char_rnn"), index);

        List<String> csv = Files.readAllLines(out.resolve("trials.csv"));
        assertEquals(1 + 7 + 8 + 8, csv.size(), "a header and one row per trial of the three sweeps: " + String.join("\n", csv));
        assertTrue(csv.get(0).startsWith("sweep,trial,search,optimizer,seed,status,step,reason,param_lr"), csv.get(0));
        assertTrue(csv.stream().anyMatch(l -> l.startsWith("quasi,momentum-003,momentum,choi.momentum,") && l.contains(",pending,")));

        // every figure, decoded back: a PNG of the chart's size with more than a blank canvas, and an SVG of the same size
        List<Path> pngs;
        try (Stream<Path> s = Files.list(out.resolve("figures"))) {
            pngs = s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
        }
        assertTrue(pngs.size() >= 10, "figures: " + pngs);
        for (Path png : pngs) {
            BufferedImage img = ImageIO.read(png.toFile());
            assertEquals(Figures.WIDTH, img.getWidth(), png.toString());
            assertEquals(Figures.HEIGHT, img.getHeight(), png.toString());
            Set<Integer> colours = new HashSet<>();
            int ink = 0;
            for (int y = 0; y < img.getHeight(); y += 2) {
                for (int x = 0; x < img.getWidth(); x += 2) {
                    int rgb = img.getRGB(x, y) & 0xFFFFFF;
                    colours.add(rgb);
                    if (rgb != 0xFFFFFF) ink++;
                }
            }
            assertTrue(colours.size() >= 4, png + " has " + colours.size() + " colours: blank");
            assertTrue(ink > 2000, png + " has only " + ink + " sampled non-white pixels: blank");
            Path svg = Path.of(png.toString().replace(".png", ".svg"));
            DocumentBuilderFactory xml = DocumentBuilderFactory.newInstance();
            xml.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false); // the SVG's DTD is on the web
            Document d = xml.newDocumentBuilder().parse(svg.toFile());
            var root = d.getDocumentElement();
            assertEquals("svg", root.getTagName(), svg.toString());
            assertTrue(root.getAttribute("width").startsWith(Integer.toString(Figures.WIDTH)), svg + " width " + root.getAttribute("width"));
            assertTrue(root.getAttribute("height").startsWith(Integer.toString(Figures.HEIGHT)), svg + " height " + root.getAttribute("height"));
            int drawn = d.getElementsByTagName("path").getLength() + d.getElementsByTagName("polyline").getLength()
                    + d.getElementsByTagName("line").getLength() + d.getElementsByTagName("rect").getLength();
            assertTrue(drawn > 10, svg + " draws only " + drawn + " shapes");
        }
    }

    @Test
    void hyperparametersArePrintedShort() {
        assertEquals("0.001", Report.compact(0.001));
        assertEquals("0.3162", Report.compact(0.31622776601683805));
        assertEquals("0.1", Report.compact(0.10000000000000002));
        assertEquals("5.623e-08", Report.compact(5.6234132519034806E-8));
        assertEquals("0", Report.compact(0));
        assertEquals("100", Report.compact(100.0));
    }

    @Test
    void badInputIsNamed() throws IOException {
        CliRun r = CliRun.of(new OptLab(), "report", tmp.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains(tmp + " holds no sweep (no trials.json"), r.err());

        Path empty = plan("empty", """
                name: empty
                base: {workload: tolstoi_char_rnn, steps: 5}
                searches:
                  - name: sgd
                    optimizer: choi.sgd
                    grid: {lr: [0.1]}
                    sources: {lr: test}
                """);
        r = CliRun.of(new OptLab(), "report", empty.toString(), "--out", tmp.resolve("r-empty").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("no sweep has a finished trial: nothing to report"), r.err());

        r = CliRun.of(new OptLab(), "report", gridX1.toString(), "--select", "valid_error", "--out", tmp.resolve("r-valid").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("recorded no valid_error") && r.err().contains("held out no validation split"), r.err());

        r = CliRun.of(new OptLab(), "report", gridX1.toString(), "--report", "test_bleu", "--out", tmp.resolve("r-bleu").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("recorded no test_bleu"), r.err());
    }
}
