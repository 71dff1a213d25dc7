package dev.fedmesh.lab;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * A process the lab started.
 *
 * @param name what it is ({@code etcd}, {@code controller}, {@code agent-east}, ...)
 * @param pid its process id
 * @param started when the OS says it started; with the pid it names the process even after the pid
 *     is reused
 * @param log its output
 */
public record LabProcess(String name, long pid, Instant started, Path log) {
  public LabProcess {
    requireNonNull(name, "name");
    requireNonNull(started, "started");
    requireNonNull(log, "log");
  }

  static LabProcess of(String name, ProcessHandle handle, Path log) {
    Instant started = handle.info().startInstant().orElse(Instant.EPOCH);
    return new LabProcess(name, handle.pid(), started, log);
  }

  /** The running process, if this one is still alive (not merely a process with its pid). */
  @JsonIgnore
  public Optional<ProcessHandle> handle() {
    return ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .filter(
            handle ->
                started.equals(Instant.EPOCH)
                    || handle.info().startInstant().map(started::equals).orElse(true));
  }

  @JsonIgnore
  public boolean isRunning() {
    return handle().isPresent();
  }
}
