package dev.fedmesh.testkit;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Stopping processes a test started, politely or with {@code kill -9}, and their children. */
public final class ProcessControl {
  private ProcessControl() {}

  /** SIGKILL the process and everything it started; returns once they are gone. */
  public static void kill(ProcessHandle process) {
    List<ProcessHandle> tree = process.descendants().toList();
    process.destroyForcibly();
    tree.forEach(ProcessHandle::destroyForcibly);
    awaitExit(process, Duration.ofSeconds(10));
    tree.forEach(child -> awaitExit(child, Duration.ofSeconds(10)));
  }

  /** SIGTERM, then SIGKILL if the process is still alive after {@code grace}. */
  public static void stop(ProcessHandle process, Duration grace) {
    List<ProcessHandle> tree = process.descendants().toList();
    process.destroy();
    if (!awaitExit(process, grace)) {
      process.destroyForcibly();
      awaitExit(process, Duration.ofSeconds(10));
    }
    tree.forEach(ProcessControl::kill);
  }

  private static boolean awaitExit(ProcessHandle process, Duration timeout) {
    try {
      process.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (java.util.concurrent.TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !process.isAlive();
    } catch (java.util.concurrent.ExecutionException e) {
      return !process.isAlive();
    }
  }
}
