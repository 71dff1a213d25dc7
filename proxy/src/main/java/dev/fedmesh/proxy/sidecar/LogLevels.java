package dev.fedmesh.proxy.sidecar;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.LoggerFactory;

/**
 * The admin {@code /logging} endpoint's work, as Envoy's: list the loggers that have a level, and
 * set one (or the root's) at run time. Needs logback as the slf4j backend; loaded only when asked.
 */
final class LogLevels {
  private LogLevels() {}

  static boolean available() {
    try {
      return LoggerFactory.getILoggerFactory() instanceof LoggerContext;
    } catch (NoClassDefFoundError e) {
      return false;
    }
  }

  /** Every logger with a level of its own, by name ("root" for the root logger). */
  static Map<String, String> levels() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Map<String, String> levels = new TreeMap<>();
    for (Logger logger : context.getLoggerList()) {
      if (logger.getLevel() != null) {
        levels.put(
            logger.getName().equals(Logger.ROOT_LOGGER_NAME) ? "root" : logger.getName(),
            logger.getLevel().toString().toLowerCase(java.util.Locale.ROOT));
      }
    }
    return levels;
  }

  /**
   * Sets a logger's level.
   *
   * @param name a logger name, or "root" / "level" for the root logger
   * @throws IllegalArgumentException naming the level when it is not one of logback's
   */
  static void set(String name, String level) {
    Level parsed = Level.toLevel(level, null);
    if (parsed == null) {
      throw new IllegalArgumentException(
          "level '" + level + "' (expected: trace, debug, info, warn, error or off)");
    }
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    String logger = name.equals("root") || name.equals("level") ? Logger.ROOT_LOGGER_NAME : name;
    context.getLogger(logger).setLevel(parsed);
  }
}
