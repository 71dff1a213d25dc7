package dev.fedmesh.proxy.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.RuntimeFilter;
import io.envoyproxy.envoy.config.accesslog.v3.StatusCodeFilter;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccessLogConfigTest {
  private static HttpConnectionManager manager(AccessLog log) {
    return HttpConnectionManager.newBuilder().addAccessLog(log).build();
  }

  @Test
  void noAccessLogMeansNoLog() {
    assertThat(AccessLogConfig.of(HttpConnectionManager.getDefaultInstance())).isEmpty();
  }

  @Test
  void stdoutAndFileLoggersWithRuntimeSampling() {
    AccessLog sampled =
        AccessLog.newBuilder()
            .setName("envoy.access_loggers.stdout")
            .setTypedConfig(Any.pack(StdoutAccessLog.getDefaultInstance()))
            .setFilter(
                AccessLogFilter.newBuilder()
                    .setRuntimeFilter(
                        RuntimeFilter.newBuilder()
                            .setRuntimeKey("access_log_sampling")
                            .setPercentSampled(
                                FractionalPercent.newBuilder()
                                    .setNumerator(25)
                                    .setDenominator(FractionalPercent.DenominatorType.HUNDRED))))
            .build();
    AccessLog file =
        AccessLog.newBuilder()
            .setTypedConfig(Any.pack(FileAccessLog.newBuilder().setPath("/tmp/x.log").build()))
            .build();

    assertThat(AccessLogConfig.of(manager(sampled)))
        .contains(new AccessLogConfig("/dev/stdout", 0.25));
    assertThat(AccessLogConfig.of(manager(file))).contains(new AccessLogConfig("/tmp/x.log", 1));
  }

  @Test
  void whatWeDoNotImplementIsRefusedByName() {
    AccessLog formatted =
        AccessLog.newBuilder()
            .setName("fmt")
            .setTypedConfig(
                Any.pack(
                    StdoutAccessLog.newBuilder()
                        .setLogFormat(
                            SubstitutionFormatString.newBuilder().setTextFormat("%START_TIME%\n"))
                        .build()))
            .build();
    AccessLog statusFiltered =
        AccessLog.newBuilder()
            .setName("errors-only")
            .setTypedConfig(Any.pack(StdoutAccessLog.getDefaultInstance()))
            .setFilter(
                AccessLogFilter.newBuilder()
                    .setStatusCodeFilter(StatusCodeFilter.getDefaultInstance()))
            .build();

    assertThatThrownBy(() -> AccessLogConfig.of(manager(formatted)))
        .hasMessageContaining("'fmt'")
        .hasMessageContaining("log_format is not supported");
    assertThatThrownBy(() -> AccessLogConfig.of(manager(statusFiltered)))
        .hasMessageContaining("'errors-only'")
        .hasMessageContaining("STATUS_CODE_FILTER");
  }

  @Test
  void aFileLogGetsOneJsonLinePerRequest(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("access.log");
    dev.fedmesh.proxy.telemetry.AccessLog log = new AccessLogConfig(file.toString(), 1).open();
    Workload self = new Workload("payments-v1", "shop", "payments", "v1", "west");
    for (int i = 0; i < 3; i++) {
      RequestRecord record =
          new RequestRecord(RequestRecord.Reporter.DESTINATION)
              .request("GET", "/pay/" + i, "payments.shop:8080", "HTTP/1.1", false)
              .ids("id-" + i, "4bf92f3577b34da6a3ce929d0e0e4736", "curl/8")
              .downstream("/127.0.0.1:40000", "spiffe://fedmesh.local/ns/shop/sa/frontend");
      record.response(200, null);
      log.write(record, self);
    }
    log.close(); // lines are buffered and flushed once a second, or when the log closes

    List<String> lines = Files.readAllLines(file);
    assertThat(lines).hasSize(3);
    List<String> paths = new ArrayList<>();
    for (String line : lines) {
      var json = new ObjectMapper().readTree(line);
      paths.add(json.path("path").asText());
      assertThat(json.path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
      assertThat(json.path("peer_principal").asText())
          .isEqualTo("spiffe://fedmesh.local/ns/shop/sa/frontend");
    }
    assertThat(paths).containsExactly("/pay/0", "/pay/1", "/pay/2");
  }

  @Test
  void samplingLogsItsShare() {
    List<String> lines = new ArrayList<>();
    dev.fedmesh.proxy.telemetry.AccessLog log =
        new dev.fedmesh.proxy.telemetry.AccessLog(lines::add, 0.1);
    Workload self = Workload.UNKNOWN;
    for (int i = 0; i < 10_000; i++) {
      RequestRecord record = new RequestRecord(RequestRecord.Reporter.SOURCE);
      log.write(record, self);
    }

    assertThat(lines.size()).isBetween(800, 1200);
  }
}
