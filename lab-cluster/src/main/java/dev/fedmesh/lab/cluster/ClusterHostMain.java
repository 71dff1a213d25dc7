package dev.fedmesh.lab.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The process of one lab cluster: {@code ClusterHostMain --spec <cluster.json>}. */
@Command(
    name = "fedmesh-lab-cluster",
    mixinStandardHelpOptions = true,
    description = "Runs one member cluster of the local lab in this process.")
public final class ClusterHostMain implements Callable<Integer> {
  @Option(
      names = "--spec",
      required = true,
      description = "The cluster's spec, as the lab writes it.")
  Path spec;

  @Override
  public Integer call() throws Exception {
    ClusterSpec cluster = new ObjectMapper().readValue(spec.toFile(), ClusterSpec.class);
    ClusterHost host = ClusterHost.start(cluster);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  host.close();
                  stopped.countDown();
                },
                "cluster-stop"));
    System.out.printf("cluster %s up on %s.x.x%n", cluster.name(), cluster.prefix());
    stopped.await();
    return 0;
  }

  public static void main(String[] args) {
    // The demo apps run on the JDK's HTTP server, which writes headers and body apart: without
    // TCP_NODELAY, Nagle and delayed ACKs add 40 ms to every answer.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    int code = new CommandLine(new ClusterHostMain()).execute(args);
    if (code != 0) {
      System.exit(code);
    }
  }
}
