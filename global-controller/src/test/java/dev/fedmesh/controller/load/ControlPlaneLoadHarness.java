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
  private final int replicas;
  private final Random random = new Random(42);

  ControlPlaneLoadHarness(int clusters, int services, int endpoints, int proxies) {
    this(clusters, services, endpoints, proxies, 1);
  }

  ControlPlaneLoadHarness(int clusters, int services, int endpoints, int proxies, int replicas) {
    this.clusters = clusters;
    this.services = services;
    this.endpoints = endpoints;
    this.proxies = proxies;
    this.replicas = replicas;
  }

  /**
   * {@code CLUSTERS SERVICES ENDPOINTS PROXIES [REPLICAS]} runs one point (against REPLICAS
   * controller replicas sharing etcd, agents and proxies spread over them) and prints the goals met
   * or not; {@code curve [OUT_DIR]} runs the scaling curve (1×, 2×, 4× proxies; 1×, 2×, 4×
   * endpoints) and writes {@code curve.csv} and {@code curve.svg} to OUT_DIR (default {@code
   * target/scaling}).
   */
  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("curve")) {
      Path out = Path.of(args.length > 1 ? args[1] : "target/scaling");
      ScalingCurve.run(out);
      System.exit(0);
    }
    int[] n =
        Arrays.stream(args.length == 0 ? new String[] {"10", "1000", "20000", "2000"} : args)
            .mapToInt(Integer::parseInt)
            .toArray();
    Result result =
        new ControlPlaneLoadHarness(n[0], n[1], n[2], n[3], n.length > 4 ? n[4] : 1).run();
    result.printGoals();
    System.exit(0);
  }

  /**
   * What one run measured.
   *
   * @param storedMs from the first announcement until etcd holds every shard
   * @param announcedMs until the controller's model holds every service
   * @param reconnectWrites keys of endpoints or clusters written when an agent reconnected with
   *     nothing changed
   * @param reconnectPushes xDS responses sent for that reconnect
   */
  record Result(
      int clusters,
      int services,
      int endpoints,
      int proxies,
      long storedMs,
      long announcedMs,
      double heapPerProxyKb,
      double p50Ms,
      double p99Ms,
      double cpuPerChangeMs,
      long reconnectWrites,
      long reconnectPushes) {

    /** The issue's goals, each met or NOT met, with the figure. */
    void printGoals() {
      System.out.println("goals:");
      goal("push p99 <= 100 ms", p99Ms <= 100, String.format("%.1f ms", p99Ms));
      goal("push p50 <= 30 ms", p50Ms <= 30, String.format("%.1f ms", p50Ms));
      goal(
          "CPU per change <= 20 ms",
          cpuPerChangeMs <= 20,
          String.format("%.1f ms", cpuPerChangeMs));
      goal(
          "initial announcement <= 2000 ms",
          announcedMs <= 2000,
          announcedMs + " ms (etcd holding all: " + storedMs + " ms)");
      goal(
          "reconnect with nothing changed writes nothing",
          reconnectWrites == 0,
          reconnectWrites + " keys written");
      goal(
          "reconnect with nothing changed pushes nothing",
          reconnectPushes == 0,
          reconnectPushes + " responses");
      goal(
          "heap per proxy <= 50 KB",
          heapPerProxyKb <= 50,
          String.format("%.1f KB", heapPerProxyKb));
    }

    private static void goal(String name, boolean met, String figure) {
      System.out.printf("  %-48s %-8s %s%n", name, met ? "met" : "NOT met", figure);
    }
  }

  Result run() throws Exception {
    Path work = Files.createTempDirectory("fedmesh-load-");
    List<Integer> xdsPorts = new ArrayList<>();
    List<Integer> adminPorts = new ArrayList<>();
    for (int r = 0; r < replicas; r++) {
      xdsPorts.add(FreePorts.next());
      adminPorts.add(FreePorts.next());
    }
    try (EtcdCluster etcd = EtcdCluster.start(1);
        Replicas controllers = new Replicas()) {
      for (int r = 0; r < replicas; r++) {
        controllers.add(
            JavaProcess.start(
                "controller-" + r,
                work,
                "dev.fedmesh.controller.ControllerMain",
                List.of(
                    "--etcd",
                    etcd.endpoints(),
                    "--insecure-any-agent",
                    "--insecure-xds-address",
                    "127.0.0.1:" + xdsPorts.get(r),
                    "--admin-address",
                    "127.0.0.1:" + adminPorts.get(r),
                    "--replica-id",
                    "load-" + r),
                harnessJvmOptions()));
      }
      List<AdminClient> admins = new ArrayList<>();
      for (int port : adminPorts) {
        AdminClient client = new AdminClient("127.0.0.1:" + port);
        awaitTrue("controller ready", Duration.ofSeconds(60), client::ready);
        admins.add(client);
      }
      AdminClient admin = admins.get(0);
      int adminPort = adminPorts.get(0);
      System.out.printf(
          "fedmesh control-plane load: %d clusters, %d services, %d endpoints, %d proxies"
              + " watching %d services each, %d controller replica(s)%n",
          clusters, services, endpoints, proxies, SERVICES_PER_PROXY, replicas);
      io.etcd.jetcd.Client kv = io.etcd.jetcd.Client.builder().endpoints(etcd.endpoints()).build();
      warmUp(xdsPorts, kv);
      List<Map<ServiceKey, ServiceEndpoints>> state = initialState();
      List<ManualSource> sources = new ArrayList<>();
      List<ClusterAgent> agents = new ArrayList<>();
      long announced = System.nanoTime();
      for (int c = 0; c < clusters; c++) {
        ManualSource source = new ManualSource();
        sources.add(source);
        ClusterInfo info = clusterInfo(c);
        agents.add(ClusterAgent.start(info, controllersFor(c, xdsPorts), executor -> source));
        source.awaitStarted().onServices(state.get(c));
      }
      awaitTrue(
          "every shard in etcd",
          Duration.ofMinutes(5),
          () -> count(kv, "/fedmesh/v1/endpoints/", 0) == (long) services * clusters,
          10);
      long storedMs = (System.nanoTime() - announced) / 1_000_000;
      awaitTrue(
          "every endpoint modelled", Duration.ofMinutes(5), () -> modelled(admin) == endpoints, 50);
      long announcedMs = (System.nanoTime() - announced) / 1_000_000;
      System.out.printf(
          "initial announcement of %d endpoints: in etcd after %d ms, modelled after %d ms%n",
          endpoints, storedMs, announcedMs);

      long heapBefore = controllers.heapAfterGc();
      List<ManagedChannel> channels = new ArrayList<>();
      List<LoadProxy> fleet = new ArrayList<>();
      CountDownLatch firstResponses = new CountDownLatch(proxies);
      // Proxies are placed by cluster: all of a cluster's proxies on one replica (cluster modulo
      // replicas), so that each replica builds only the groups of its own clusters, as a
      // deployment would point each cluster's proxies at the replicas of its region.
      Map<Integer, ManagedChannel> open = new HashMap<>();
      Map<Integer, Integer> streamsOn = new HashMap<>();
      for (int p = 0; p < proxies; p++) {
        int replica = (p % clusters) % replicas;
        int streams = streamsOn.merge(replica, 1, Integer::sum);
        if (streams % STREAMS_PER_CHANNEL == 1 || STREAMS_PER_CHANNEL == 1) {
          ManagedChannel channel =
              NettyChannelBuilder.forAddress("127.0.0.1", xdsPorts.get(replica))
                  .usePlaintext()
                  .maxInboundMessageSize(64 * 1024 * 1024)
                  .build();
          channels.add(channel);
          open.put(replica, channel);
        }
        LoadProxy proxy = new LoadProxy(p, watchedServices(), firstResponses::countDown);
        proxy.connect(open.get(replica), clusterInfo(p % clusters));
        fleet.add(proxy);
      }
      if (!firstResponses.await(5, TimeUnit.MINUTES)) {
        throw new IllegalStateException(firstResponses.getCount() + " proxies got no endpoints");
      }
      long heapAfter = controllers.heapAfterGc();
      double heapPerProxyKb = (heapAfter - heapBefore) / 1024.0 / proxies;
      System.out.printf(
          "controller heap: %.1f MB before proxies, %.1f MB with %d proxies: %.1f KB per proxy%n",
          heapBefore / 1e6, heapAfter / 1e6, proxies, heapPerProxyKb);

      Map<ServiceKey, List<LoadProxy>> watchers = new HashMap<>();
      for (LoadProxy proxy : fleet) {
        for (ServiceKey key : proxy.watched) {
          watchers.computeIfAbsent(key, k -> new ArrayList<>()).add(proxy);
        }
      }
      long cpuBefore = controllers.cpuNanos();
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
      long cpu = controllers.cpuNanos() - cpuBefore;
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

      // An agent reconnects (a controller failover, a network cut) with nothing changed: it
      // re-announces every service; nothing may be written but its session, nothing pushed.
      long revision = revision(kv);
      double pushesBefore = pushes(adminPorts);
      agents.get(0).close();
      ManualSource again = new ManualSource();
      ClusterAgent reconnected =
          ClusterAgent.start(clusterInfo(0), controllersFor(0, xdsPorts), executor -> again);
      agents.set(0, reconnected);
      again.awaitStarted().onServices(state.get(0));
      awaitTrue(
          "the reconnected agent in sync",
          Duration.ofMinutes(1),
          () -> reconnected.federation().isInSync(),
          10);
      // Let any push the reconnect caused reach the proxies before counting.
      Thread.sleep(1000);
      long reconnectWrites =
          count(kv, "/fedmesh/v1/endpoints/", revision + 1)
              + count(kv, "/fedmesh/v1/clusters/", revision + 1);
      long reconnectPushes = Math.round(pushes(adminPorts) - pushesBefore);
      System.out.printf(
          "agent reconnect with nothing changed: %d keys written, %d xDS responses pushed%n",
          reconnectWrites, reconnectPushes);

      fleet.forEach(LoadProxy::close);
      for (ManagedChannel channel : channels) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      agents.forEach(ClusterAgent::close);
      kv.close();
      return new Result(
          clusters,
          services,
          endpoints,
          proxies,
          storedMs,
          announcedMs,
          heapPerProxyKb,
          percentile(latencies, 50) / 1e6,
          percentile(latencies, 99) / 1e6,
          cpu / 1e6 / latencies.size(),
          reconnectWrites,
          reconnectPushes);
    }
  }

  /** xDS responses all replicas have sent. */
  private static double pushes(List<Integer> adminPorts) throws Exception {
    double total = 0;
    for (int port : adminPorts) {
      total += scrape(port).getOrDefault("fedmesh_xds_pushes_total", 0.0);
    }
    return total;
  }

  /** Agent {@code index}'s controllers: all replicas, starting at its own, so agents spread. */
  private static List<String> controllersFor(int index, List<Integer> xdsPorts) {
    List<String> addresses = new ArrayList<>();
    for (int i = 0; i < xdsPorts.size(); i++) {
      addresses.add("127.0.0.1:" + xdsPorts.get((index + i) % xdsPorts.size()));
    }
    return addresses;
  }

  /**
   * Connects and closes a throwaway agent first, so that this JVM's gRPC classes are loaded and
   * warm: the announcement then measures the controller, not the harness's own start-up.
   */
  private void warmUp(List<Integer> xdsPorts, io.etcd.jetcd.Client kv) throws Exception {
    ManualSource source = new ManualSource();
    ClusterInfo info =
        new ClusterInfo(
            ClusterName.of("warm-up"),
            "net",
            Locality.of("region-0", "region-0-a"),
            List.of(),
            "fedmesh.local",
            "load");
    try (ClusterAgent agent = ClusterAgent.start(info, controllersFor(0, xdsPorts), e -> source)) {
      source.awaitStarted().onServices(Map.of());
      awaitTrue(
          "warm-up agent in sync", Duration.ofSeconds(30), () -> agent.federation().isInSync());
    }
    // Gone again, so that it changes nothing the run measures (its liveness would age later).
    kv.getKVClient()
        .delete(
            io.etcd.jetcd.ByteSequence.from(
                "/fedmesh/v1/clusters/warm-up", java.nio.charset.StandardCharsets.UTF_8))
        .get(10, TimeUnit.SECONDS);
  }

  /** The controller replicas, measured together. */
  private static final class Replicas implements AutoCloseable {
    private final List<JavaProcess> processes = new ArrayList<>();

    void add(JavaProcess process) {
      processes.add(process);
    }

    long heapAfterGc() throws IOException, InterruptedException {
      long total = 0;
      for (JavaProcess process : processes) {
        total += ControlPlaneLoadHarness.heapAfterGc(process.pid());
      }
      return total;
    }

    long cpuNanos() {
      return processes.stream().mapToLong(p -> ControlPlaneLoadHarness.cpuNanos(p.pid())).sum();
    }

    @Override
    public void close() {
      processes.forEach(JavaProcess::close);
    }
  }

  /** Keys under {@code prefix} last written at {@code minModRevision} or later (0: all). */
  private static long count(io.etcd.jetcd.Client kv, String prefix, long minModRevision)
      throws Exception {
    io.etcd.jetcd.ByteSequence key =
        io.etcd.jetcd.ByteSequence.from(prefix, java.nio.charset.StandardCharsets.UTF_8);
    if (minModRevision == 0) {
      return kv.getKVClient()
          .get(
              key,
              io.etcd.jetcd.options.GetOption.builder().isPrefix(true).withCountOnly(true).build())
          .get(10, TimeUnit.SECONDS)
          .getCount();
    }
    // etcd counts before it filters by revision: count the keys it returns instead.
    return kv.getKVClient()
        .get(
            key,
            io.etcd.jetcd.options.GetOption.builder()
                .isPrefix(true)
                .withKeysOnly(true)
                .withMinModRevision(minModRevision)
                .build())
        .get(10, TimeUnit.SECONDS)
        .getKvs()
        .size();
  }

  private static long revision(io.etcd.jetcd.Client kv) throws Exception {
    return kv.getKVClient()
        .get(io.etcd.jetcd.ByteSequence.from("/", java.nio.charset.StandardCharsets.UTF_8))
        .get(10, TimeUnit.SECONDS)
        .getHeader()
        .getRevision();
  }

  /** Endpoints the controller's model holds, from its status document. */
  private static long modelled(AdminClient admin) throws IOException {
    long total = 0;
    for (var cluster : admin.status().path("clusters")) {
      total += cluster.path("endpoints").asLong();
    }
    return total;
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
    awaitTrue(what, timeout, check, 100);
  }

  private static void awaitTrue(String what, Duration timeout, Check check, long pollMillis)
      throws Exception {
    Instant deadline = Instant.now().plus(timeout);
    while (!check.ok()) {
      if (Instant.now().isAfter(deadline)) {
        throw new IllegalStateException(what + ": not after " + timeout);
      }
      Thread.sleep(pollMillis);
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
