package dev.fedmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fedmesh.lab.cluster.DemoApp;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The demo app as containers run it on Kubernetes (the kind lab): {@code fedmesh demo-app} is one
 * instance of the retail example (the local lab's own), calling the next service by name, which the
 * pod's sidecar intercepts; {@code fedmesh demo-load} calls a URL at a steady rate and prints,
 * every second, how many calls succeeded and which cluster answered them.
 */
final class DemoCommand {
  private DemoCommand() {}

  @Command(
      name = "demo-app",
      mixinStandardHelpOptions = true,
      description =
          "Serves one instance of the demo app (JSON naming its service, version, cluster, zone"
              + " and pod), calling --calls on each request when given. Runs until stopped.")
  static final class App implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--service", required = true, description = "The service it is part of.")
    String service;

    @Option(names = "--version", defaultValue = "v1", description = "Its version label.")
    String version;

    @Option(
        names = "--cluster",
        defaultValue = "${env:FEDMESH_CLUSTER:-}",
        description = "The cluster it reports (default: $FEDMESH_CLUSTER).")
    String cluster;

    @Option(
        names = "--zone",
        defaultValue = "${env:ZONE:-}",
        description = "The zone it reports (default: $ZONE).")
    String zone;

    @Option(
        names = "--pod",
        defaultValue = "${env:POD_NAME:-${env:HOSTNAME:-demo}}",
        description = "The pod it reports (default: $POD_NAME, else $HOSTNAME).")
    String pod;

    @Option(
        names = "--listen",
        defaultValue = "0.0.0.0:8080",
        description = "Where to serve, host:port (default: ${DEFAULT-VALUE}).")
    String listen;

    @Option(
        names = "--calls",
        defaultValue = "",
        description = "A service of the demo namespace to call on each request (default: none).")
    String calls;

    @Override
    public Integer call() throws Exception {
      int colon = listen.lastIndexOf(':');
      InetSocketAddress address;
      try {
        address =
            new InetSocketAddress(
                listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1)));
      } catch (RuntimeException e) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(), "--listen: '" + listen + "' (expected: host:port)");
      }
      CountDownLatch stopped = new CountDownLatch(1);
      try (DemoApp app =
          new DemoApp(address, service, version, cluster, zone, pod, calls, Optional.empty())) {
        Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown, "demo-app-stop"));
        spec.commandLine()
            .getOut()
            .printf("demo-app %s %s serving on %s%n", service, version, address);
        spec.commandLine().getOut().flush();
        stopped.await();
      }
      return 0;
    }
  }

  @Command(
      name = "demo-load",
      mixinStandardHelpOptions = true,
      description =
          "Calls --url at --rps requests per second and prints each second how many succeeded,"
              + " how many failed, and which cluster answered (the demo app's 'cluster', followed"
              + " through its upstreams to the last). Runs until stopped.")
  static final class Load implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec CommandSpec spec;

    @Option(names = "--url", required = true, description = "What to call.")
    String url;

    @Option(
        names = "--rps",
        defaultValue = "20",
        description = "Requests per second (default: ${DEFAULT-VALUE}).")
    int rps;

    @Override
    public Integer call() throws Exception {
      if (rps < 1 || rps > 1000) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(), "--rps: " + rps + " (expected: 1..1000)");
      }
      URI target = URI.create(url);
      HttpClient client =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(2))
              .build();
      AtomicReference<Map<String, Integer>> window = new AtomicReference<>(new TreeMap<>());
      ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
      PrintWriter out = spec.commandLine().getOut();
      timer.scheduleAtFixedRate(
          () -> {
            HttpRequest request =
                HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(5)).build();
            client
                .sendAsync(request, HttpResponse.BodyHandlers.ofString())
                .whenComplete(
                    (response, error) -> {
                      String outcome =
                          error != null
                              ? "failed"
                              : response.statusCode() != 200
                                  ? "failed"
                                  : "ok " + lastCluster(response.body());
                      synchronized (window) {
                        window.get().merge(outcome, 1, Integer::sum);
                      }
                    });
          },
          0,
          1_000_000 / rps,
          TimeUnit.MICROSECONDS);
      timer.scheduleAtFixedRate(
          () -> {
            Map<String, Integer> second;
            synchronized (window) {
              second = window.getAndSet(new TreeMap<>());
            }
            out.println(java.time.LocalTime.now().withNano(0) + " " + second);
            out.flush();
          },
          1,
          1,
          TimeUnit.SECONDS);
      new CountDownLatch(1).await();
      return 0;
    }

    /** The cluster of the deepest upstream in a demo app's answer. */
    static String lastCluster(String body) {
      try {
        JsonNode node = JSON.readTree(body);
        String cluster = "?";
        while (node != null && node.isObject()) {
          cluster = node.path("cluster").asText(cluster);
          node = node.get("upstream");
        }
        return cluster;
      } catch (java.io.IOException e) {
        return "?";
      }
    }
  }
}
