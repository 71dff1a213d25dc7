package dev.fedmesh.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real etcd cluster of one or more members on loopback, each a separate process with a temporary
 * data directory. Closing it stops every process and deletes the data.
 */
public final class EtcdCluster implements AutoCloseable {
  private final Path baseDir;
  private final List<EtcdMember> members;
  private final Thread shutdownHook;

  private EtcdCluster(int size) {
    try {
      baseDir = Files.createTempDirectory("fedmesh-etcd-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<EtcdMember> created = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      created.add(new EtcdMember("etcd" + i, baseDir));
    }
    String initialCluster =
        created.stream().map(m -> m.name() + "=" + m.peerUrl()).collect(Collectors.joining(","));
    created.forEach(member -> member.initialCluster(initialCluster));
    members = List.copyOf(created);
    shutdownHook = new Thread(this::killAll, "etcd-cluster-cleanup");
  }

  /** Starts {@code size} members and waits until every one is healthy. */
  public static EtcdCluster start(int size) {
    if (size < 1) {
      throw new IllegalArgumentException("size: " + size + " (expected: >= 1)");
    }
    EtcdBinary.locate();
    EtcdCluster cluster = new EtcdCluster(size);
    Runtime.getRuntime().addShutdownHook(cluster.shutdownHook);
    try {
      // Members of a new cluster must start together: none is healthy before a quorum is up.
      cluster.members.forEach(EtcdMember::launch);
      cluster.members.forEach(EtcdMember::awaitHealthy);
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
    return cluster;
  }

  public List<EtcdMember> members() {
    return members;
  }

  public EtcdMember member(int index) {
    return members.get(index);
  }

  /** Client URLs of every member, for a client's endpoint list. */
  public List<String> clientUrls() {
    return members.stream().map(EtcdMember::clientUrl).toList();
  }

  /** Client URLs joined by commas, the form the controller's {@code --etcd} flag takes. */
  public String endpoints() {
    return String.join(",", clientUrls());
  }

  private void killAll() {
    members.forEach(EtcdMember::kill);
  }

  @Override
  public void close() {
    killAll();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException alreadyShuttingDown) {
      // The hook is running or has run; nothing to remove.
    }
    deleteRecursively(baseDir);
  }

  private static void deleteRecursively(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      // Temporary data only; a leftover directory is harmless.
    }
  }
}
