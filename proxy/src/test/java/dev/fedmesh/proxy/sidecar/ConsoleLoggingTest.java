package dev.fedmesh.proxy.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.core.ConsoleAppender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ConsoleLoggingTest {
  private final LoggerContext context = new LoggerContext();

  @AfterEach
  void clearProperties() {
    System.clearProperty(ConsoleLogging.PROPERTY);
    System.clearProperty("fedmesh.log.level");
    System.clearProperty("logback.configurationFile");
    context.stop();
  }

  @Test
  void leavesLoggingToLogbackUnlessTheSidecarOptionsAskForIt() {
    assertThat(configure()).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
    assertThat(root().iteratorForAppenders().hasNext()).isFalse();
  }

  @Test
  void logsToStandardErrorAtTheLevelAskedForWithLibrariesAtWarn() {
    System.setProperty(ConsoleLogging.PROPERTY, "true");
    System.setProperty("fedmesh.log.level", "INFO");

    assertThat(configure()).isEqualTo(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);

    assertThat(root().getLevel()).isEqualTo(Level.INFO);
    assertThat(root().getAppender("CONSOLE"))
        .isInstanceOfSatisfying(
            ConsoleAppender.class,
            console -> {
              assertThat(console.getTarget()).isEqualTo("System.err");
              assertThat(console.isStarted()).isTrue();
            });
    assertThat(context.getLogger("io.netty.handler").getEffectiveLevel()).isEqualTo(Level.WARN);
    assertThat(context.getLogger("dev.fedmesh.proxy").getEffectiveLevel()).isEqualTo(Level.INFO);
  }

  @Test
  void warnsOnlyByDefault() {
    System.setProperty(ConsoleLogging.PROPERTY, "true");

    configure();

    assertThat(root().getLevel()).isEqualTo(Level.WARN);
  }

  @Test
  void aConfigurationFileOfTheUsersWins() {
    System.setProperty(ConsoleLogging.PROPERTY, "true");
    System.setProperty("logback.configurationFile", "/etc/fedmesh/logback.xml");

    assertThat(configure()).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
    assertThat(root().iteratorForAppenders().hasNext()).isFalse();
  }

  private ExecutionStatus configure() {
    ConsoleLogging logging = new ConsoleLogging();
    logging.setContext(context);
    return logging.configure(context);
  }

  private Logger root() {
    return context.getLogger(Logger.ROOT_LOGGER_NAME);
  }
}
