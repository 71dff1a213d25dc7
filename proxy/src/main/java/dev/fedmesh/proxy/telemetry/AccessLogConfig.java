package dev.fedmesh.proxy.telemetry;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * The access log an HTTP connection manager asks for, in Envoy's terms: an {@code access_log} entry
 * with the stdout or file logger turns it on, and a {@code runtime_filter}'s {@code
 * percent_sampled} samples it. The line format is ours (JSON, see {@link
 * dev.fedmesh.proxy.telemetry.AccessLog}); a format given in the config is refused, not ignored.
 *
 * @param path "/dev/stdout" for standard output, else a file appended to
 * @param sampling the share of requests logged, 0..1
 */
public record AccessLogConfig(String path, double sampling) {
  private static final String STDOUT = "/dev/stdout";

  /**
   * The first access log among a connection manager's, if any.
   *
   * @throws IllegalArgumentException naming the logger, filter or format we do not support
   */
  public static Optional<AccessLogConfig> of(HttpConnectionManager manager) {
    List<AccessLog> logs = manager.getAccessLogList();
    for (int i = 0; i < logs.size(); i++) {
      AccessLog log = logs.get(i);
      String where = "access_log[" + i + "] '" + log.getName() + "'";
      double sampling = sampling(log, where);
      try {
        if (log.getTypedConfig().is(StdoutAccessLog.class)) {
          StdoutAccessLog stdout = log.getTypedConfig().unpack(StdoutAccessLog.class);
          if (stdout.hasLogFormat()) {
            throw new IllegalArgumentException(where + ": log_format is not supported");
          }
          return Optional.of(new AccessLogConfig(STDOUT, sampling));
        }
        if (log.getTypedConfig().is(FileAccessLog.class)) {
          FileAccessLog file = log.getTypedConfig().unpack(FileAccessLog.class);
          if (file.getAccessLogFormatCase()
              != FileAccessLog.AccessLogFormatCase.ACCESSLOGFORMAT_NOT_SET) {
            throw new IllegalArgumentException(where + ": a log format is not supported");
          }
          if (file.getPath().isEmpty()) {
            throw new IllegalArgumentException(where + ": path is empty (expected: a file)");
          }
          return Optional.of(new AccessLogConfig(file.getPath(), sampling));
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException(where + ": does not parse (" + e.getMessage() + ")", e);
      }
      throw new IllegalArgumentException(
          where
              + ": logger "
              + log.getTypedConfig().getTypeUrl()
              + " is not supported (expected: stdout or file)");
    }
    return Optional.empty();
  }

  private static double sampling(AccessLog log, String where) {
    if (!log.hasFilter()) {
      return 1;
    }
    AccessLogFilter filter = log.getFilter();
    if (!filter.hasRuntimeFilter()) {
      throw new IllegalArgumentException(
          where
              + ": filter "
              + filter.getFilterSpecifierCase()
              + " is not supported"
              + " (expected: runtime_filter with percent_sampled)");
    }
    FractionalPercent percent = filter.getRuntimeFilter().getPercentSampled();
    double scale =
        switch (percent.getDenominator()) {
          case HUNDRED -> 100;
          case TEN_THOUSAND -> 10_000;
          case MILLION -> 1_000_000;
          default -> throw new IllegalArgumentException(where + ": percent_sampled.denominator");
        };
    return Math.min(1, percent.getNumerator() / scale);
  }

  /** Opens the log this config names. */
  public dev.fedmesh.proxy.telemetry.AccessLog open() {
    if (path.equals(STDOUT)) {
      return new dev.fedmesh.proxy.telemetry.AccessLog(
          dev.fedmesh.proxy.telemetry.AccessLog.lines(
              new OutputStreamWriter(System.out, StandardCharsets.UTF_8)),
          sampling);
    }
    Writer out;
    try {
      out = new OutputStreamWriter(new FileOutputStream(path, true), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("access log " + path + ": " + e.getMessage(), e);
    }
    return new dev.fedmesh.proxy.telemetry.AccessLog(
        dev.fedmesh.proxy.telemetry.AccessLog.ownedLines(out), sampling);
  }
}
