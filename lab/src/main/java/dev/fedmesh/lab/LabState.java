package dev.fedmesh.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a running lab is made of, kept in {@code <lab dir>/state.json} so that later commands
 * ({@code status}, {@code down}) find every process and address.
 *
 * @param etcd etcd's client URL
 * @param controllerXds the controller's xDS and federation address, host:port
 * @param controllerAdmin the controller's admin address, host:port
 * @param processes every process started, in start order
 */
public record LabState(
    String etcd, String controllerXds, String controllerAdmin, List<LabProcess> processes) {
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .enable(SerializationFeature.INDENT_OUTPUT);

  public LabState {
    processes = List.copyOf(processes);
  }

  LabState with(LabProcess process) {
    List<LabProcess> all = new ArrayList<>(processes);
    all.add(process);
    return new LabState(etcd, controllerXds, controllerAdmin, all);
  }

  LabState without(String name) {
    List<LabProcess> rest = new ArrayList<>(processes);
    rest.removeIf(p -> p.name().equals(name));
    return new LabState(etcd, controllerXds, controllerAdmin, rest);
  }

  static Path file(Path labDir) {
    return labDir.resolve("state.json");
  }

  static Optional<LabState> read(Path labDir) throws IOException {
    Path file = file(labDir);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    return Optional.of(JSON.readValue(file.toFile(), LabState.class));
  }

  void write(Path labDir) throws IOException {
    Files.createDirectories(labDir);
    Path temp = labDir.resolve("state.json.tmp");
    JSON.writeValue(temp.toFile(), this);
    Files.move(
        temp,
        file(labDir),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
