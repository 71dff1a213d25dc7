package dev.fedmesh.gateway;

import java.net.SocketAddress;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs refused connections at most once per reason per interval, with how many were refused
 * silently since: a scanner or a misconfigured peer opening thousands of connections must not turn
 * into thousands of log lines. The metric counts every one.
 */
final class RefusalLog {
  private static final Logger log = LoggerFactory.getLogger(RefusalLog.class);

  private final long intervalNanos;
  private final LongSupplier nanoTime;
  private final Map<RefusalReason, Window> windows = new EnumMap<>(RefusalReason.class);

  private static final class Window {
    long lastLoggedNanos;
    long suppressed;
    boolean logged;
  }

  RefusalLog(java.time.Duration interval, LongSupplier nanoTime) {
    this.intervalNanos = interval.toNanos();
    this.nanoTime = nanoTime;
    for (RefusalReason reason : RefusalReason.values()) {
      windows.put(reason, new Window());
    }
  }

  /**
   * Records a refusal; returns the line it logged, or null when the line was suppressed (returned
   * for tests).
   */
  String refused(RefusalReason reason, SocketAddress client, String detail) {
    Window window = windows.get(reason);
    long suppressed;
    synchronized (window) {
      long now = nanoTime.getAsLong();
      if (window.logged && now - window.lastLoggedNanos < intervalNanos) {
        window.suppressed++;
        return null;
      }
      window.logged = true;
      window.lastLoggedNanos = now;
      suppressed = window.suppressed;
      window.suppressed = 0;
    }
    String line =
        "refused a connection from "
            + client
            + " ("
            + reason.label()
            + "): "
            + detail
            + (suppressed > 0
                ? "; " + suppressed + " more refused for this reason since the last such line"
                : "");
    log.warn(line);
    return line;
  }
}
