package dev.fedmesh.proxy.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fedmesh.proxy.authz.Decision;
import dev.fedmesh.proxy.http.ProxyStats;
import dev.fedmesh.testkit.PrometheusText;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard in {@code deploy/grafana} queries only what a sidecar exports: every series
 * it selects, every label it filters or groups by.
 */
class GrafanaDashboardTest {
  private static final Path DASHBOARD = Path.of("..", "deploy", "grafana", "fedmesh-mesh.json");

  /** A series read over a range: {@code name{matchers}[range]}. */
  private static final Pattern SELECTOR =
      Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)\\})?\\[");

  private static final Pattern MATCHER =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)");
  private static final Pattern BY = Pattern.compile("by \\(([^)]*)\\)");

  /** Every series name a sidecar exports, with the label names it carries. */
  private static Map<String, Set<String>> exported() throws Exception {
    ProxyStats stats = new ProxyStats();
    Telemetry telemetry =
        new Telemetry(
            stats.registry(),
            new Workload("payments-v1", "shop", "payments", "v1", "west"),
            () -> "spiffe://fedmesh.local/ns/shop/sa/payments");
    RequestRecord request =
        new RequestRecord(RequestRecord.Reporter.DESTINATION)
            .request("GET", "/", "payments.shop:8080", "HTTP/1.1", false);
    request.response(200, null);
    telemetry.completed(request);
    Telemetry.TcpConnection connection =
        telemetry.tcpOpened(
            RequestRecord.Reporter.DESTINATION, "db.shop", Workload.UNKNOWN, "unknown", true);
    connection.received(1);
    connection.sent(1);
    connection.closed();
    stats.authorized(
        new Decision.Denied("envoy.filters.http.rbac", "no ALLOW policy matched", List.of()),
        "test");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, stats.registry().scrape());
    Map<String, Set<String>> series = new HashMap<>();
    for (PrometheusText.Sample sample :
        PrometheusText.parse(out.toString(StandardCharsets.UTF_8))) {
      series.computeIfAbsent(sample.name(), n -> new HashSet<>()).addAll(sample.labels().keySet());
    }
    return series;
  }

  @Test
  void everyQueryReadsSeriesAndLabelsTheSidecarExports() throws Exception {
    JsonNode dashboard = new ObjectMapper().readTree(Files.readString(DASHBOARD));
    Map<String, Set<String>> exported = exported();
    List<String> problems = new ArrayList<>();
    int queries = 0;
    for (JsonNode panel : dashboard.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        String expr = target.path("expr").asText();
        queries++;
        Matcher selector = SELECTOR.matcher(expr);
        Set<String> labels = new HashSet<>();
        boolean any = false;
        while (selector.find()) {
          any = true;
          String name = selector.group(1);
          if (!exported.containsKey(name)) {
            problems.add(panel.path("title").asText() + ": " + name + " is not exported");
            continue;
          }
          labels.addAll(exported.get(name));
          if (selector.group(3) != null) {
            Matcher matcher = MATCHER.matcher(selector.group(3));
            while (matcher.find()) {
              if (!exported.get(name).contains(matcher.group(1))) {
                problems.add(
                    panel.path("title").asText()
                        + ": "
                        + name
                        + " has no label "
                        + matcher.group(1));
              }
            }
          }
        }
        if (!any) {
          problems.add(panel.path("title").asText() + ": no series in '" + expr + "'");
        }
        Matcher by = BY.matcher(expr);
        while (by.find()) {
          for (String label : by.group(1).split(",")) {
            if (!labels.contains(label.trim())) {
              problems.add(panel.path("title").asText() + ": groups by missing label " + label);
            }
          }
        }
      }
    }

    assertThat(queries).isGreaterThanOrEqualTo(10);
    assertThat(problems).isEmpty();
  }
}
