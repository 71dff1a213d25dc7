package dev.fedmesh.proxy.sidecar;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.util.List;

/**
 * A sidecar's logging, set up in code: the console format and levels of the fedmesh jar's
 * logback.xml (the root at {@code -Dfedmesh.log.level}, WARN by default; gRPC, Netty and the like
 * at WARN), without logback's XML configurator, which loads some 300 classes and takes about a
 * tenth of a second of a sidecar's start.
 *
 * <p>It acts only in a JVM started with {@code -Dfedmesh.log.console=true}, as the sidecar's
 * options ({@code SidecarJvm}) start it, and never when {@code logback.configurationFile} names a
 * file of the user's: then, as in every other fedmesh process, logback configures itself.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class ConsoleLogging extends ContextAwareBase implements Configurator {
  /** The system property that turns this configurator on. */
  public static final String PROPERTY = "fedmesh.log.console";

  private static final List<String> QUIET =
      List.of("io.grpc", "io.netty", "io.etcd", "io.vertx", "io.envoyproxy.controlplane");

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (!Boolean.getBoolean(PROPERTY) || System.getProperty("logback.configurationFile") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%d{HH:mm:ss.SSS} %-5level [%thread] %logger{24} - %msg%n");
    encoder.start();
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setName("CONSOLE");
    console.setTarget("System.err");
    console.setEncoder(encoder);
    console.start();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(System.getProperty("fedmesh.log.level"), Level.WARN));
    root.addAppender(console);
    for (String name : QUIET) {
      context.getLogger(name).setLevel(Level.WARN);
    }
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }
}
