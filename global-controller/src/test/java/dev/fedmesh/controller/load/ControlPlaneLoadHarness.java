package dev.fedmesh.controller.load;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.source.EndpointSource;
import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import dev.fedmesh.testkit.EtcdCluster;
import dev.fedmesh.testkit.FreePorts;
import dev.fedmesh.testkit.JavaProcess;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Load harness for the control plane, run on demand (never by the test command):
 *
 * <pre>
 * mvn -B -q -pl global-controller -am test-compile
 * mvn -B -q -pl global-controller exec:exec -Pload-harness -Dharness.args="10 1000 20000 2000"
 * </pre>
 *
 * <p>This JVM simulates N cluster agents announcing S services with E endpoints in all, and P
 * proxies, each watching the endpoints of K services over its own ADS stream; the controller runs
 * in a JVM of its own (with a real etcd) so that its heap and CPU are measured alone. It then
 * changes one endpoint at a time and prints, from the agent's announcement to the moment every
 * proxy watching that service has ACKed a response carrying the change, p50 and p99; the
 * controller's heap per connected proxy; and its CPU per change.
 */
public final class ControlPlaneLoadHarness {
  private static final int SERVICES_PER_PROXY = 20;
  private static final int CHANGES = 200;
  private static final int STREAMS_PER_CHANNEL = 100;
  private static final int MARKER_BASE = 40000;

  private final int clusters;
  private final int services;
  private final int endpoints;
  private final int proxies;
  private final Random random = new Random(42);

  private ControlPlaneLoadHarness(int clusters, int services, int endpoints, int proxies) {
    this.clusters = clusters;
    this.services = services;
    this.endpoints = endpoints;
    this.proxies = proxies;
  }

  public static void main(String[] args) throws Exception {
    int[] n =
        Arrays.stream(args.length == 0 ? new String[] {"10", "1000", "20000", "2000"} : args)
            .mapToInt(Integer::parseInt)
            .toArray();
    new ControlPlaneLoadHarness(n[0], n[1], n[2], n[3]).run();
    System.exit(0);
  }

  private void run() throws Exception {
    Path work = Files.createTempDirectory("fedmesh-load-");
    int xdsPort = FreePorts.next();
    int adminPort = FreePorts.next();
    try (EtcdCluster etcd = EtcdCluster.start(1);
        JavaProcess controller =
            JavaProcess.start(
                "controller",
                work,
                "dev.fedmesh.controller.ControllerMain",
                List.of(
                    "--etcd",
                    etcd.endpoints(),
                    "--insecure-any-agent",
                    "--insecure-xds-address",
                    "127.0.0.1:" + xdsPort,
                    "--admin-address",
                    "127.0.0.1:" + adminPort,
                    "--replica-id",
                    "load"),
                harnessJvmOptions())) {
      AdminClient admin = new AdminClient("127.0.0.1:" + adminPort);
      awaitTrue("controller ready", Duration.ofSeconds(60), admin::ready);
      System.out.printf(
          "fedmesh control-plane load: %d clusters, %d services, %d endpoints, %d proxies"
              + " watching %d services each%n",
          clusters, services, endpoints, proxies, SERVICES_PER_PROXY);

      List<Map<ServiceKey, ServiceEndpoints>> state = initialState();
      List<ManualSource> sources = new ArrayList<>();
      List<ClusterAgent> agents = new ArrayList<>();
      long announced = System.nanoTime();
      for (int c = 0; c < clusters; c++) {
        ManualSource source = new ManualSource();
        sources.add(source);
        ClusterInfo info = clusterInfo(c);
        agents.add(ClusterAgent.start(info, List.of("127.0.0.1:" + xdsPort), executor -> source));
        source.awaitStarted().onServices(state.get(c));
      }
      awaitTrue(
          "every endpoint stored",
          Duration.ofMinutes(5),
          () -> admin.status().path("services").size() == services);
      System.out.printf(
          "initial announcement of %d endpoints stored and modelled in %d ms%n",
          endpoints, (System.nanoTime() - announced) / 1_000_000);

      long heapBefore = heapAfterGc(controller.pid());
      List<ManagedChannel> channels = new ArrayList<>();
      List<LoadProxy> fleet = new ArrayList<>();
      CountDownLatch firstResponses = new CountDownLatch(proxies);
      for (int p = 0; p < proxies; p++) {
        if (p % STREAMS_PER_CHANNEL == 0) {
          channels.add(
              NettyChannelBuilder.forAddress("127.0.0.1", xdsPort)
                  .usePlaintext()
                  .maxInboundMessageSize(64 * 1024 * 1024)
                  .build());
        }
        LoadProxy proxy = new LoadProxy(p, watchedServices(), firstResponses::countDown);
        proxy.connect(channels.get(channels.size() - 1), clusterInfo(p % clusters));
        fleet.add(proxy);
      }
      if (!firstResponses.await(5, TimeUnit.MINUTES)) {
        throw new IllegalStateException(firstResponses.getCount() + " proxies got no endpoints");
      }
      long heapAfter = heapAfterGc(controller.pid());
      System.out.printf(
          "controller heap: %.1f MB before proxies, %.1f MB with %d proxies: %.1f KB per proxy%n",
          heapBefore / 1e6, heapAfter / 1e6, proxies, (heapAfter - heapBefore) / 1024.0 / proxies);

      Map<ServiceKey, List<LoadProxy>> watchers = new HashMap<>();
      for (LoadProxy proxy : fleet) {
        for (ServiceKey key : proxy.watched) {
          watchers.computeIfAbsent(key, k -> new ArrayList<>()).add(proxy);
        }
      }
      long cpuBefore = cpuNanos(controller.pid());
      List<Long> latencies = new ArrayList<>();
      int unaffected = 0;
      for (int i = 0; i < CHANGES; i++) {
        int cluster = random.nextInt(clusters);
        ServiceKey key = serviceKey(random.nextInt(services));
        List<LoadProxy> affected = watchers.getOrDefault(key, List.of());
        if (affected.isEmpty()) {
          unaffected++;
          continue;
        }
        int marker = MARKER_BASE + i;
        CountDownLatch acked = new CountDownLatch(affected.size());
        affected.forEach(proxy -> proxy.expect(key, marker, acked::countDown));
        Map<ServiceKey, ServiceEndpoints> next = new HashMap<>(state.get(cluster));
        next.put(key, withMarker(next.get(key), marker));
        state.set(cluster, next);
        long start = System.nanoTime();
        sources.get(cluster).listener.onServices(next);
        if (!acked.await(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException(
              "change "
                  + i
                  + ": "
                  + acked.getCount()
                  + " of "
                  + affected.size()
                  + " proxies never ACKed");
        }
        latencies.add(System.nanoTime() - start);
      }
      long cpu = cpuNanos(controller.pid()) - cpuBefore;
      latencies.sort(null);
      System.out.printf(
          "endpoint change -> all affected proxies ACKed, over %d changes (avg %.0f proxies each):"
              + " p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
          latencies.size(),
          watchers.values().stream().mapToInt(List::size).average().orElse(0),
          percentile(latencies, 50) / 1e6,
          percentile(latencies, 99) / 1e6,
          latencies.get(latencies.size() - 1) / 1e6);
      System.out.printf(
          "controller CPU: %.1f ms per change (%d changes, %d skipped with no watcher)%n",
          cpu / 1e6 / latencies.size(), latencies.size(), unaffected);

      Map<String, Double> metrics = scrape(adminPort);
      System.out.printf(
          "inside the controller, mean per change: etcd watch event -> all ACKed %.1f ms,"
              + " regenerating and setting all %d groups' snapshots %.1f ms%n",
          mean(metrics, "fedmesh_convergence_seconds") * 1e3,
          clusters * 2,
          mean(metrics, "fedmesh_xds_push_seconds") * 1e3);

      fleet.forEach(LoadProxy::close);
      for (ManagedChannel channel : channels) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      agents.forEach(ClusterAgent::close);
    }
  }

  /** The controller's metrics, summed over labels, by name. */
  private static Map<String, Double> scrape(int adminPort) throws Exception {
    var response =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + adminPort + "/metrics"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    Map<String, Double> values = new HashMap<>();
    for (String line : response.body().split("\n")) {
      if (line.startsWith("#") || line.isBlank()) {
        continue;
      }
      String name = line.substring(0, line.indexOf(line.contains("{") ? '{' : ' '));
      double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      values.merge(name, value, Double::sum);
    }
    return values;
  }

  private static double mean(Map<String, Double> metrics, String histogram) {
    double count = metrics.getOrDefault(histogram + "_count", 0.0);
    return count == 0 ? 0 : metrics.getOrDefault(histogram + "_sum", 0.0) / count;
  }

  /** The controller's JVM options; {@code -Dharness.jfr=FILE} records a flight recording. */
  private static List<String> harnessJvmOptions() {
    List<String> options =
        new ArrayList<>(List.of("-Xmx2g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=4"));
    String jfr = System.getProperty("harness.jfr");
    if (jfr != null && !jfr.isBlank()) {
      options.add("-XX:StartFlightRecording=dumponexit=true,filename=" + jfr + ",settings=profile");
    }
    return options;
  }

  private List<Map<ServiceKey, ServiceEndpoints>> initialState() {
    List<Map<ServiceKey, ServiceEndpoints>> state = new ArrayList<>();
    int perShard = Math.max(1, endpoints / (services * clusters));
    int address = 0;
    for (int c = 0; c < clusters; c++) {
      ClusterInfo info = clusterInfo(c);
      Map<ServiceKey, ServiceEndpoints> shards = new HashMap<>();
      for (int s = 0; s < services; s++) {
        List<Endpoint> list = new ArrayList<>();
        for (int e = 0; e < perShard; e++) {
          address++;
          Locality zone =
              Locality.of(
                  info.locality().region(), info.locality().region() + (e % 2 == 0 ? "-a" : "-b"));
          list.add(
              Endpoint.of(
                  "10."
                      + (address >> 16 & 255)
                      + "."
                      + (address >> 8 & 255)
                      + "."
                      + (address & 255),
                  Map.of("http", 8080),
                  zone));
        }
        shards.put(
            serviceKey(s),
            new ServiceEndpoints(
                info.name(),
                serviceKey(s),
                List.of(new ServicePort("http", 80, Protocol.HTTP)),
                true,
                list));
      }
      state.add(shards);
    }
    return state;
  }

  private static ServiceEndpoints withMarker(ServiceEndpoints shard, int marker) {
    List<Endpoint> list = new ArrayList<>(shard.endpoints());
    Endpoint first = list.get(0);
    list.set(0, Endpoint.of(first.address(), Map.of("http", marker), first.locality()));
    return new ServiceEndpoints(
        shard.cluster(), shard.service(), shard.ports(), shard.exported(), list);
  }

  private List<ServiceKey> watchedServices() {
    List<ServiceKey> watched = new ArrayList<>();
    while (watched.size() < SERVICES_PER_PROXY) {
      ServiceKey key = serviceKey(random.nextInt(services));
      if (!watched.contains(key)) {
        watched.add(key);
      }
    }
    return watched;
  }

  private static ServiceKey serviceKey(int index) {
    return ServiceKey.of("load", "svc-" + index);
  }

  private ClusterInfo clusterInfo(int index) {
    String region = "region-" + (index % 5);
    return new ClusterInfo(
        ClusterName.of("cluster-" + index),
        "net",
        Locality.of(region, region + "-a"),
        List.of(),
        "fedmesh.local",
        "load");
  }

  private static long percentile(List<Long> sorted, int percentile) {
    int index = (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  /** Heap in use after a full GC, from {@code jcmd} (the JDK's own diagnostic command). */
  private static long heapAfterGc(long pid) throws IOException, InterruptedException {
    jcmd(pid, "GC.run");
    String info = jcmd(pid, "GC.heap_info");
    Matcher used = Pattern.compile("total \\d+K, used (\\d+)K").matcher(info);
    long total = 0;
    while (used.find()) {
      total += Long.parseLong(used.group(1)) * 1024;
    }
    if (total == 0) {
      throw new IllegalStateException("cannot read heap use from jcmd:\n" + info);
    }
    return total;
  }

  private static String jcmd(long pid, String command) throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process process =
        new ProcessBuilder(jcmd.toString(), Long.toString(pid), command)
            .redirectErrorStream(true)
            .start();
    String output = new String(process.getInputStream().readAllBytes());
    process.waitFor(60, TimeUnit.SECONDS);
    return output;
  }

  private static long cpuNanos(long pid) {
    return ProcessHandle.of(pid)
        .flatMap(handle -> handle.info().totalCpuDuration())
        .map(Duration::toNanos)
        .orElseThrow(() -> new IllegalStateException("no CPU time for pid " + pid));
  }

  private static void awaitTrue(String what, Duration timeout, Check check) throws Exception {
    Instant deadline = Instant.now().plus(timeout);
    while (!check.ok()) {
      if (Instant.now().isAfter(deadline)) {
        throw new IllegalStateException(what + ": not after " + timeout);
      }
      Thread.sleep(100);
    }
  }

  private interface Check {
    boolean ok() throws Exception;
  }

  /** A source the harness drives by hand. */
  private static final class ManualSource implements EndpointSource {
    private final CountDownLatch started = new CountDownLatch(1);
    private volatile Listener listener;

    @Override
    public void start(Listener listener) {
      this.listener = listener;
      started.countDown();
    }

    Listener awaitStarted() throws InterruptedException {
      started.await(10, TimeUnit.SECONDS);
      return listener;
    }

    @Override
    public void close() {}
  }

  /** One simulated proxy: an ADS stream watching a few services' endpoints, ACKing everything. */
  private static final class LoadProxy {
    private final int id;
    private final List<ServiceKey> watched;
    private final Runnable onFirstResponse;
    private final Map<String, Expectation> expectations = new ConcurrentHashMap<>();
    private final AtomicInteger responses = new AtomicInteger();
    private StreamObserver<DiscoveryRequest> requests;
    private List<String> names;

    private record Expectation(int marker, Runnable done) {}

    LoadProxy(int id, List<ServiceKey> watched, Runnable onFirstResponse) {
      this.id = id;
      this.watched = watched;
      this.onFirstResponse = onFirstResponse;
    }

    void connect(ManagedChannel channel, ClusterInfo cluster) {
      names = watched.stream().map(key -> "outbound|80||" + key.fqdn()).toList();
      Node node =
          Node.newBuilder()
              .setId("proxy-" + id)
              .setCluster(cluster.name().value())
              .setLocality(
                  io.envoyproxy.envoy.config.core.v3.Locality.newBuilder()
                      .setRegion(cluster.locality().region())
                      .setZone(cluster.locality().region() + (id % 2 == 0 ? "-a" : "-b")))
              .setMetadata(
                  Struct.newBuilder()
                      .putFields("FEDMESH_ROLE", Value.newBuilder().setStringValue("grpc").build())
                      .putFields("NETWORK", Value.newBuilder().setStringValue("net").build()))
              .build();
      requests =
          AggregatedDiscoveryServiceGrpc.newStub(channel)
              .streamAggregatedResources(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryResponse response) {
                      onResponse(response);
                    }

                    @Override
                    public void onError(Throwable error) {}

                    @Override
                    public void onCompleted() {}
                  });
      requests.onNext(
          DiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl("type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment")
              .addAllResourceNames(names)
              .build());
    }

    void expect(ServiceKey key, int marker, Runnable done) {
      expectations.put("outbound|80||" + key.fqdn(), new Expectation(marker, done));
    }

    private synchronized void onResponse(DiscoveryResponse response) {
      List<Runnable> completed = new ArrayList<>();
      for (Any any : response.getResourcesList()) {
        try {
          ClusterLoadAssignment assignment = any.unpack(ClusterLoadAssignment.class);
          Expectation expected = expectations.get(assignment.getClusterName());
          if (expected != null && carries(assignment, expected.marker)) {
            expectations.remove(assignment.getClusterName());
            completed.add(expected.done);
          }
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException(e);
        }
      }
      requests.onNext(
          DiscoveryRequest.newBuilder()
              .setTypeUrl(response.getTypeUrl())
              .addAllResourceNames(names)
              .setVersionInfo(response.getVersionInfo())
              .setResponseNonce(response.getNonce())
              .build());
      if (responses.getAndIncrement() == 0) {
        onFirstResponse.run();
      }
      completed.forEach(Runnable::run);
    }

    private static boolean carries(ClusterLoadAssignment assignment, int marker) {
      for (LocalityLbEndpoints locality : assignment.getEndpointsList()) {
        for (LbEndpoint endpoint : locality.getLbEndpointsList()) {
          if (endpoint.getEndpoint().getAddress().getSocketAddress().getPortValue() == marker) {
            return true;
          }
        }
      }
      return false;
    }

    void close() {
      requests.onCompleted();
    }
  }
}
