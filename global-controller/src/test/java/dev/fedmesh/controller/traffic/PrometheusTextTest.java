package dev.fedmesh.controller.traffic;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PrometheusTextTest {
  @Test
  void readsTheSamplesOfOneMetricWithTheirLabels() {
    String text =
        """
        # HELP istio_requests_total Requests
        # TYPE istio_requests_total counter
        istio_requests_total{reporter="source",source_workload="loadgen-v1",response_code="200"} 200.0
        istio_requests_total_created{reporter="source"} 1.7e9
        istio_request_bytes_sum{reporter="source"} 1024
        istio_requests_total{reporter="destination", response_code="503"} 3 1700000000000

        istio_requests_total 7
        """;

    PrometheusText.Parsed parsed = PrometheusText.samples(text, "istio_requests_total");

    assertThat(parsed.errors()).isEmpty();
    assertThat(parsed.samples())
        .extracting(PrometheusText.Sample::labels, PrometheusText.Sample::value)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                Map.of(
                    "reporter", "source", "source_workload", "loadgen-v1", "response_code", "200"),
                200.0),
            org.assertj.core.groups.Tuple.tuple(
                Map.of("reporter", "destination", "response_code", "503"), 3.0),
            org.assertj.core.groups.Tuple.tuple(Map.of(), 7.0));
  }

  @Test
  void unescapesLabelValuesAndReadsSpecialNumbers() {
    String text =
        "m{path=\"/a\\\"b\\\\c\\nd\",empty=\"\"} +Inf\n"
            + "m{x=\"1\",} NaN\r\n"
            + "m{x=\"{}\"} -Inf\n";

    PrometheusText.Parsed parsed = PrometheusText.samples(text, "m");

    assertThat(parsed.errors()).isEmpty();
    assertThat(parsed.samples().get(0).label("path")).isEqualTo("/a\"b\\c\nd");
    assertThat(parsed.samples().get(0).label("empty")).isEmpty();
    assertThat(parsed.samples().get(0).value()).isInfinite().isPositive();
    assertThat(parsed.samples().get(1).value()).isNaN();
    assertThat(parsed.samples().get(2).label("x")).isEqualTo("{}");
    assertThat(parsed.samples().get(2).value()).isInfinite().isNegative();
  }

  @Test
  void reportsEachMalformedLineByNumberAndKeepsTheGoodOnes() {
    String text =
        "m{a=\"1\"} 1\n"
            + "m{a=\"unterminated} 2\n"
            + "m{a=1} 3\n"
            + "m{=\"x\"} 4\n"
            + "m{a=\"1\"} lots\n"
            + "m{a=\"1\" b=\"2\"} 5\n"
            + "m{a=\"2\"} 6\n";

    PrometheusText.Parsed parsed = PrometheusText.samples(text, "m");

    assertThat(parsed.samples()).extracting(PrometheusText.Sample::value).containsExactly(1.0, 6.0);
    assertThat(parsed.errors())
        .containsExactly(
            "line 2: unterminated value of label a",
            "line 3: quoted value expected for label a",
            "line 4: label name expected at column 3",
            "line 5: value 'lots' is not a number",
            "line 6: ',' or '}' expected after label a");
  }
}
