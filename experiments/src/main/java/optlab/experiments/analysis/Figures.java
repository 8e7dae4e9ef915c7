package optlab.experiments.analysis;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The reports' figures with XChart, rendered headless to PNG (for the Markdown report) and SVG (for papers), each
 * with a title naming the workload and the selection, axis titles with units, log axes where the data span decades,
 * and a legend. One palette for every figure, so an optimizer keeps its colour across them.
 */
final class Figures {
    private Figures() {}

    static {
        System.setProperty("java.awt.headless", "true");
    }

    static final int WIDTH = 820, HEIGHT = 520;

    /** Colours by series position (Okabe and Ito's colour-blind-safe palette). */
    static final Color[] PALETTE = {new Color(0, 114, 178), new Color(213, 94, 0), new Color(0, 158, 115), new Color(204, 121, 167),
        new Color(230, 159, 0), new Color(86, 180, 233), new Color(0, 0, 0), new Color(240, 228, 66)};

    static Color color(int i) {
        return PALETTE[Math.floorMod(i, PALETTE.length)];
    }

    /** An XY chart with the house style. */
    static XYChart xy(String title, String xTitle, String yTitle, boolean logX, boolean logY) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        Styler s = c.getStyler();
        s.setChartBackgroundColor(Color.WHITE);
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        c.getStyler().setPlotGridLinesVisible(true);
        c.getStyler().setXAxisLogarithmic(logX);
        c.getStyler().setYAxisLogarithmic(logY);
        c.getStyler().setMarkerSize(6);
        return c;
    }

    /**
     * An XY chart whose x axis is a tuning budget K = 1, 2, 4, ...: plotted at log2 K (so the doublings are evenly
     * spaced), labelled with K itself at the whole powers of two. Add points with {@link #log2}.
     */
    static XYChart budgets(String title, String yTitle) {
        XYChart c = xy(title, "K, trials in the budget (doubling)", yTitle, false, false);
        c.getStyler().setxAxisTickLabelsFormattingFunction(x -> {
            double r = Math.rint(x);
            return Math.abs(x - r) < 1e-9 && r >= 0 ? Long.toString(Math.round(Math.pow(2, r))) : "";
        });
        return c;
    }

    /** log2 of each value (the x positions of a {@link #budgets} chart). */
    static double[] log2(double[] k) {
        double[] out = new double[k.length];
        for (int i = 0; i < k.length; i++) out[i] = Math.log(k[i]) / Math.log(2);
        return out;
    }

    /** A solid line with markers, coloured by {@code colorIndex}. */
    static XYSeries line(XYChart c, String name, double[] x, double[] y, int colorIndex) {
        XYSeries s = c.addSeries(name, x, y);
        s.setLineColor(color(colorIndex));
        s.setMarkerColor(color(colorIndex));
        s.setMarker(SeriesMarkers.CIRCLE);
        return s;
    }

    /** A dashed line without markers or legend entry (a band's edge), coloured by {@code colorIndex}. */
    static XYSeries dashed(XYChart c, String name, double[] x, double[] y, int colorIndex) {
        XYSeries s = c.addSeries(name, x, y);
        s.setLineColor(color(colorIndex));
        s.setMarker(SeriesMarkers.NONE);
        s.setLineStyle(new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {5f, 4f}, 0f));
        s.setShowInLegend(false);
        return s;
    }

    /** Points only (a scatter), coloured by {@code colorIndex}. */
    static XYSeries points(XYChart c, String name, double[] x, double[] y, int colorIndex) {
        XYSeries s = c.addSeries(name, x, y);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        s.setMarkerColor(color(colorIndex));
        s.setMarker(SeriesMarkers.CIRCLE);
        return s;
    }

    /**
     * A heat map of {@code values[y][x]} (NaN cells left empty) with the values printed in the cells, colours from
     * {@code min} to {@code max}.
     */
    static HeatMapChart heatMap(String title, String xTitle, String yTitle, List<String> xLabels, List<String> yLabels, double[][] values,
                                double min, double max) {
        HeatMapChart c = new HeatMapChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setShowValue(true);
        c.getStyler().setMin(min);
        c.getStyler().setMax(max);
        c.getStyler().setRangeColors(new Color[] {new Color(255, 255, 204), new Color(253, 141, 60), new Color(128, 0, 38)});
        c.getStyler().setValueFont(c.getStyler().getAxisTickLabelsFont());
        List<Number[]> cells = new java.util.ArrayList<>();
        for (int y = 0; y < values.length; y++) {
            for (int x = 0; x < values[y].length; x++) {
                if (!Double.isNaN(values[y][x])) cells.add(new Number[] {x, y, Math.round(values[y][x] * 1000) / 1000.0});
            }
        }
        c.addSeries(title, xLabels, yLabels, cells);
        return c;
    }

    /** Writes {@code name}.png and {@code name}.svg into {@code dir}; returns the PNG's file name. */
    static String save(Chart<?, ?> chart, Path dir, String name) {
        try {
            Files.createDirectories(dir);
            BitmapEncoder.saveBitmap(chart, dir.resolve(name).toString(), BitmapEncoder.BitmapFormat.PNG);
            VectorGraphicsEncoder.saveVectorGraphic(chart, dir.resolve(name).toString(), VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the figure " + dir.resolve(name), e);
        }
        return name + ".png";
    }
}
