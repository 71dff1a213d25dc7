package dev.fedmesh.controller.load;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The control plane's scaling curve: the load harness at 1×, 2× and 4× the proxies (2,000, 4,000,
 * 8,000) and at 1×, 2× and 4× the endpoints (20,000, 40,000, 80,000), each point on a fresh etcd
 * and controller. Prints a table with the growth per doubling and writes {@code curve.csv} and
 * {@code curve.svg}.
 */
final class ScalingCurve {
  private static final int CLUSTERS = 10;
  private static final int SERVICES = 1000;
  private static final int ENDPOINTS = 20_000;
  private static final int PROXIES = 2000;

  private ScalingCurve() {}

  static void run(Path out) throws Exception {
    Files.createDirectories(out);
    List<ControlPlaneLoadHarness.Result> byProxies = new ArrayList<>();
    List<ControlPlaneLoadHarness.Result> byEndpoints = new ArrayList<>();
    for (int factor : new int[] {1, 2, 4}) {
      byProxies.add(
          new ControlPlaneLoadHarness(CLUSTERS, SERVICES, ENDPOINTS, PROXIES * factor).run());
    }
    byEndpoints.add(byProxies.get(0));
    for (int factor : new int[] {2, 4}) {
      byEndpoints.add(
          new ControlPlaneLoadHarness(CLUSTERS, SERVICES, ENDPOINTS * factor, PROXIES).run());
    }
    StringBuilder csv =
        new StringBuilder(
            "axis,clusters,services,endpoints,proxies,announced_ms,stored_ms,push_p50_ms,"
                + "push_p99_ms,cpu_per_change_ms,heap_per_proxy_kb\n");
    append(csv, "proxies", byProxies);
    append(csv, "endpoints", byEndpoints);
    Files.writeString(out.resolve("curve.csv"), csv);
    Files.writeString(out.resolve("curve.svg"), svg(byProxies, byEndpoints));
    System.out.println();
    System.out.println("scaling curve (each row a fresh etcd and controller):");
    table("proxies", byProxies);
    table("endpoints", byEndpoints);
    System.out.println("written: " + out.resolve("curve.csv") + ", " + out.resolve("curve.svg"));
  }

  private static void append(
      StringBuilder csv, String axis, List<ControlPlaneLoadHarness.Result> results) {
    for (ControlPlaneLoadHarness.Result r : results) {
      csv.append(
          String.format(
              Locale.ROOT,
              "%s,%d,%d,%d,%d,%d,%d,%.1f,%.1f,%.1f,%.1f%n",
              axis,
              r.clusters(),
              r.services(),
              r.endpoints(),
              r.proxies(),
              r.announcedMs(),
              r.storedMs(),
              r.p50Ms(),
              r.p99Ms(),
              r.cpuPerChangeMs(),
              r.heapPerProxyKb()));
    }
  }

  private static void table(String axis, List<ControlPlaneLoadHarness.Result> results) {
    System.out.printf(
        "%-10s %9s %8s %10s %10s %10s %12s %10s%n",
        "by " + axis,
        "endpoints",
        "proxies",
        "p50 ms",
        "p99 ms",
        "CPU/chg ms",
        "heap/proxy KB",
        "announce ms");
    for (ControlPlaneLoadHarness.Result r : results) {
      System.out.printf(
          Locale.ROOT,
          "%-10s %9d %8d %10.1f %10.1f %10.1f %12.1f %10d%n",
          "",
          r.endpoints(),
          r.proxies(),
          r.p50Ms(),
          r.p99Ms(),
          r.cpuPerChangeMs(),
          r.heapPerProxyKb(),
          r.announcedMs());
    }
    System.out.printf(
        Locale.ROOT,
        "%-10s growth per doubling of %s: p50 x%.2f, p99 x%.2f, CPU/change x%.2f, announce x%.2f%n",
        "",
        axis,
        perDoubling(results, ControlPlaneLoadHarness.Result::p50Ms),
        perDoubling(results, ControlPlaneLoadHarness.Result::p99Ms),
        perDoubling(results, ControlPlaneLoadHarness.Result::cpuPerChangeMs),
        perDoubling(results, r -> r.announcedMs()));
  }

  /** The geometric mean of the ratio between successive points (each a doubling). */
  static double perDoubling(
      List<ControlPlaneLoadHarness.Result> results,
      ToDoubleFunction<ControlPlaneLoadHarness.Result> figure) {
    double first = figure.applyAsDouble(results.get(0));
    double last = figure.applyAsDouble(results.get(results.size() - 1));
    if (first <= 0) {
      return Double.NaN;
    }
    return Math.pow(last / first, 1.0 / (results.size() - 1));
  }

  /** Two panels (push latency by proxies, by endpoints), p50 and p99 lines, log2 x axis. */
  static String svg(
      List<ControlPlaneLoadHarness.Result> byProxies,
      List<ControlPlaneLoadHarness.Result> byEndpoints) {
    StringBuilder svg = new StringBuilder();
    int width = 760;
    int height = 320;
    svg.append(
        String.format(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"sans-serif\" font-size=\"12\">%n",
            width, height));
    svg.append("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
    double max =
        java.util.stream.Stream.concat(byProxies.stream(), byEndpoints.stream())
            .mapToDouble(ControlPlaneLoadHarness.Result::p99Ms)
            .max()
            .orElse(1);
    double top = Math.max(120, Math.ceil(max / 50) * 50);
    panel(svg, 60, "push latency by proxies", byProxies, r -> r.proxies(), top);
    panel(svg, 430, "push latency by endpoints", byEndpoints, r -> r.endpoints(), top);
    svg.append(
        "<text x=\"60\" y=\"312\" fill=\"#555\">endpoint change to every affected proxy"
            + " ACKed; dashed: the 100 ms p99 goal. blue p50, red p99</text>\n");
    svg.append("</svg>\n");
    return svg.toString();
  }

  private static void panel(
      StringBuilder svg,
      int left,
      String title,
      List<ControlPlaneLoadHarness.Result> results,
      ToDoubleFunction<ControlPlaneLoadHarness.Result> x,
      double top) {
    int w = 280;
    int h = 220;
    int y0 = 40;
    svg.append(
        String.format("<text x=\"%d\" y=\"24\" font-weight=\"bold\">%s</text>%n", left, title));
    svg.append(
        String.format(
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#bbb\"/>%n",
            left, y0, w, h));
    double goal = y0 + h - 100 / top * h;
    svg.append(
        String.format(
            Locale.ROOT,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#999\""
                + " stroke-dasharray=\"5 4\"/>%n",
            left,
            goal,
            left + w,
            goal));
    svg.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.0f ms</text>%n",
            left - 4,
            y0 + 4,
            top));
    svg.append(
        String.format("<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>%n", left - 4, y0 + h));
    for (int series = 0; series < 2; series++) {
      StringBuilder points = new StringBuilder();
      for (int i = 0; i < results.size(); i++) {
        ControlPlaneLoadHarness.Result r = results.get(i);
        double px = left + 20 + i * (w - 40.0) / Math.max(1, results.size() - 1);
        double value = series == 0 ? r.p50Ms() : r.p99Ms();
        double py = y0 + h - Math.min(value, top) / top * h;
        points.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
        svg.append(
            String.format(
                Locale.ROOT,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>%n",
                px,
                py,
                series == 0 ? "#2f6fdb" : "#d64545"));
        if (series == 0) {
          svg.append(
              String.format(
                  Locale.ROOT,
                  "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%,.0f</text>%n",
                  px,
                  y0 + h + 16,
                  x.applyAsDouble(r)));
        }
      }
      svg.append(
          String.format(
              "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>%n",
              points.toString().strip(), series == 0 ? "#2f6fdb" : "#d64545"));
    }
  }
}
