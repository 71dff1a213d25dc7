package dev.fedmesh.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fedmesh.cli.FedmeshCommand;
import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.lab.LabTraffic;
import dev.fedmesh.lab.LocalLab;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Policies written as Istio YAML, applied once through the public CLI, steer real sidecars in all
 * three lab clusters: a canary shifted under load without an error, a header match, fault
 * injection, retries that recover the faults, and a locality failover order of the user's own.
 */
class PolicyIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private static final String SUBSETS =
      """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: checkout, namespace: shop}
      spec:
        host: checkout
        subsets:
        - {name: v1, labels: {version: v1}}
        - {name: v2, labels: {version: v2}}
      """;

  private static String canary(int v1, int v2) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: checkout, namespace: shop}
        spec:
          hosts: [checkout]
          http:
          - name: canary-header
            match: [{headers: {x-canary: {exact: "true"}}}]
            route: [{destination: {host: checkout, subset: v2}}]
          - route:
            - {destination: {host: checkout, subset: v1}, weight: %d}
            - {destination: {host: checkout, subset: v2}, weight: %d}
        """
        .formatted(v1, v2);
  }

  @Test
  void policiesAppliedOnceSteerSidecarsInEveryCluster() throws Exception {
    try (ChaosLab lab = ChaosLab.up(dir, LocalLab.Options.DEFAULT)) {
      Cli cli = new Cli(lab.lab, dir);
      AdminClient admin =
          lab.lab.adminClient(LocalLab.controllerAdmin(lab.lab.dir()).orElseThrow());

      // --- Under load, with no failed request: subsets and a canary route appear in one apply
      // (new clusters must reach proxies before routes name them), the canary shifts
      // 100/0 -> 90/10 -> 0/100, and both policies go again (routes must leave the subset
      // clusters before those go).
      LabTraffic shifting =
          new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), "east"), "checkout");
      ExecutorService background = Executors.newSingleThreadExecutor();
      try {
        Future<LabTraffic.Summary> during =
            background.submit(() -> shifting.run(50, Duration.ofSeconds(30), null));
        Thread.sleep(4_000); // traffic on the default route first: the load's clock, not a wait
        cli.apply("canary-100-0.yaml", SUBSETS + "---\n" + canary(100, 0));
        awaitEveryProxyHoldsThePolicies(admin);
        Thread.sleep(4_000);
        cli.apply("canary-90-10.yaml", canary(90, 10));
        awaitEveryProxyHoldsThePolicies(admin);
        Thread.sleep(4_000);
        cli.apply("canary-0-100.yaml", canary(0, 100));
        awaitEveryProxyHoldsThePolicies(admin);
        Thread.sleep(4_000);
        cli.run(0, "delete", "-f", dir.resolve("canary-100-0.yaml").toString());
        LabTraffic.Summary summary = during.get();
        System.out.println("POLICY canary shift under load: " + summary.json());
        assertThat(summary.failed())
            .as("failed requests while shifting: " + summary.firstError())
            .isZero();
        assertThat(summary.byVersion()).containsKeys("v1", "v2");
      } finally {
        background.shutdownNow();
      }

      // --- 90/10, measured from every cluster over 2,000 requests each: one apply, three clusters.
      cli.apply("canary-90-10-again.yaml", SUBSETS + "---\n" + canary(90, 10));
      awaitEveryProxyHoldsThePolicies(admin);
      for (String cluster : new String[] {"east", "west", "central"}) {
        LabTraffic.Summary split =
            new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), cluster), "checkout")
                .run(200, Duration.ofSeconds(10), null);
        System.out.println("POLICY canary 90/10 from " + cluster + ": " + split.json());
        assertThat(split.failed()).isZero();
        double v2 = split.byVersion().getOrDefault("v2", 0L) / (double) split.total();
        assertThat(split.total()).isGreaterThanOrEqualTo(1_900);
        assertThat(v2).as("share of v2 from " + cluster).isBetween(0.07, 0.13);
      }

      // --- A header match sends x-canary: true to v2 only.
      Map<String, Integer> withHeader =
          versions(lab, "east", "checkout", Map.of("x-canary", "true"), 100);
      assertThat(withHeader).containsOnlyKeys("v2");

      // --- Fault injection: 50% aborts, observed within +-5%.
      cli.apply(
          "fault.yaml",
          """
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: {name: payments, namespace: shop}
          spec:
            hosts: [payments]
            http:
            - route: [{destination: {host: payments}}]
              retries: {attempts: 0}
              fault: {abort: {httpStatus: 503, percentage: {value: 50}}}
          """);
      awaitEveryProxyHoldsThePolicies(admin);
      LabTraffic.Summary faulted =
          new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), "west"), "payments")
              .run(200, Duration.ofSeconds(10), null);
      System.out.println("POLICY fault abort 50%: " + faulted.json());
      assertThat(faulted.failed() / (double) faulted.total()).isBetween(0.45, 0.55);

      // --- Retries recover them: checkout's calls to payments fail 30% of the time, and the
      // load generator's route to checkout retries gateway errors.
      cli.apply(
          "retries.yaml",
          """
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: {name: payments, namespace: shop}
          spec:
            hosts: [payments]
            http:
            - route: [{destination: {host: payments}}]
              retries: {attempts: 0}
              fault: {abort: {httpStatus: 503, percentage: {value: 30}}}
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: {name: checkout, namespace: shop}
          spec:
            hosts: [checkout]
            http:
            - route: [{destination: {host: checkout, subset: v1}}]
              retries: {attempts: 10, retryOn: gateway-error}
          """);
      awaitEveryProxyHoldsThePolicies(admin);
      LabTraffic.Summary retried =
          new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), "west"), "checkout")
              .run(50, Duration.ofSeconds(6), null);
      System.out.println("POLICY retries over a 30% fault: " + retried.json());
      assertThat(retried.failed()).as(retried.firstError()).isZero();
      cli.delete("VirtualService", "payments", "shop");

      // --- Locality failover of the user's own: callers in us-east skip us-west.
      LabTraffic.Summary before =
          new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), "east"), "payments")
              .run(50, Duration.ofSeconds(3), null);
      assertThat(before.byCluster())
          .as("the lab's default order: us-east -> us-west")
          .containsOnlyKeys("west");
      cli.apply(
          "failover.yaml",
          """
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: {name: payments, namespace: shop}
          spec:
            host: payments
            trafficPolicy:
              loadBalancer:
                localityLbSetting:
                  failover: [{from: us-east, to: eu-central}]
          """);
      awaitEveryProxyHoldsThePolicies(admin);
      LabTraffic.Summary after =
          new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), "east"), "payments")
              .run(50, Duration.ofSeconds(3), null);
      System.out.println("POLICY failover us-east -> eu-central: " + after.json());
      assertThat(after.failed()).isZero();
      assertThat(after.byCluster()).containsOnlyKeys("central");

      // --- ... and observed when east's own copy dies: checkout's callers in us-east, whose
      // checkout pods stop, go to eu-central (not us-west, the lab's default next region).
      cli.apply(
          "checkout-failover.yaml",
          SUBSETS.replace(
              "  host: checkout\n",
              "  host: checkout\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n"
                  + "        failover: [{from: us-east, to: eu-central}]\n"));
      awaitEveryProxyHoldsThePolicies(admin);
      LabTraffic.Summary local =
          new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), "east"), "checkout")
              .run(50, Duration.ofSeconds(2), null);
      assertThat(local.byCluster()).as("east's own copy first").containsOnlyKeys("east");
      lab.control("east", "apps/stop?service=checkout");
      // The first requests find the dead pods (and are retried elsewhere); outlier detection
      // then ejects them. Then every request lands by the failover order.
      new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), "east"), "checkout")
          .run(50, Duration.ofSeconds(2), null);
      LabTraffic.Summary dead =
          new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), "east"), "checkout")
              .run(50, Duration.ofSeconds(3), null);
      System.out.println("POLICY failover of checkout, east's copy dead: " + dead.json());
      assertThat(dead.failed()).isZero();
      assertThat(dead.byCluster()).containsOnlyKeys("central");
      lab.control("east", "apps/start?service=checkout");

      // --- failoverPriority on a label of the workloads' own. In west, checkout v1 and v2 share
      // the load generator's zone, so by locality alone both answer; with [version] the load
      // generator (version v1) prefers endpoints of its own version.
      cli.apply(
          "checkout-no-subset.yaml",
          """
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: {name: checkout, namespace: shop}
          spec:
            hosts: [checkout]
            http: [{route: [{destination: {host: checkout}}]}]
          """);
      cli.apply("checkout-subsets-only.yaml", SUBSETS);
      awaitEveryProxyHoldsThePolicies(admin);
      LabTraffic.Summary byZone =
          new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), "west"), "checkout")
              .run(100, Duration.ofSeconds(3), null);
      assertThat(byZone.byVersion()).as("by locality alone").containsKeys("v1", "v2");
      cli.apply(
          "checkout-by-version.yaml",
          SUBSETS.replace(
              "  host: checkout\n",
              "  host: checkout\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n"
                  + "        failoverPriority: [version]\n"));
      awaitEveryProxyHoldsThePolicies(admin);
      LabTraffic.Summary byVersion =
          new LabTraffic(LabTraffic.loadgenSidecar(lab.lab.dir(), "west"), "checkout")
              .run(100, Duration.ofSeconds(3), null);
      System.out.println(
          "POLICY failoverPriority [version] from west (loadgen v1): " + byVersion.json());
      assertThat(byVersion.failed()).isZero();
      assertThat(byVersion.byVersion()).as("its own version first").containsOnlyKeys("v1");

      String listed = cli.run(0, "get", "all", "-A");
      assertThat(listed).contains("DestinationRule", "payments", "VirtualService", "checkout");

      // --- mTLS modes: the lab's sidecars take mTLS only; PERMISSIVE lets plain text in, a
      // mesh-wide STRICT refuses it again.
      String checkoutInbound = inboundOf(lab, "east", "checkout/v1");
      assertThat(plaintextAnswered(checkoutInbound))
          .as("the sidecar's own default: STRICT")
          .isFalse();
      cli.apply(
          "permissive.yaml",
          """
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: {name: default, namespace: shop}
          spec: {mtls: {mode: PERMISSIVE}}
          """);
      awaitEveryProxyHoldsThePolicies(admin);
      assertThat(plaintextAnswered(checkoutInbound)).as("PERMISSIVE").isTrue();
      cli.delete("PeerAuthentication", "default", "shop");
      cli.apply(
          "strict.yaml",
          """
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: {name: default, namespace: istio-system}
          spec: {mtls: {mode: STRICT}}
          """);
      awaitEveryProxyHoldsThePolicies(admin);
      assertThat(plaintextAnswered(checkoutInbound)).as("mesh-wide STRICT").isFalse();

      // --- Authorization: checkout takes calls from the frontend only, and never on /private.
      cli.apply(
          "authz.yaml",
          """
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: {name: checkout-callers, namespace: shop}
          spec:
            selector: {matchLabels: {app: checkout}}
            rules:
            - from: [{source: {principals: ["*/ns/shop/sa/frontend", "*/ns/shop/sa/loadgen"]}}]
          ---
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: {name: no-private, namespace: shop}
          spec:
            selector: {matchLabels: {app: checkout}}
            action: DENY
            rules: [{to: [{operation: {paths: ["/private*"]}}]}]
          """);
      awaitEveryProxyHoldsThePolicies(admin);
      assertThat(statusOf(lab, "east", "checkout", "/")).isEqualTo(200);
      assertThat(statusOf(lab, "east", "checkout", "/private/keys")).isEqualTo(403);
      cli.apply(
          "authz-frontend-only.yaml",
          """
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: {name: checkout-callers, namespace: shop}
          spec:
            selector: {matchLabels: {app: checkout}}
            rules:
            - from: [{source: {principals: ["*/ns/shop/sa/frontend"]}}]
          """);
      awaitEveryProxyHoldsThePolicies(admin);
      assertThat(statusOf(lab, "east", "checkout", "/"))
          .as("loadgen is not allowed")
          .isEqualTo(403);
      assertThat(statusOf(lab, "east", "frontend", "/"))
          .as("loadgen -> frontend -> checkout, the frontend is")
          .isEqualTo(200);
    }
  }

  /** A workload's sidecar inbound address ({@code service/version}) in a lab cluster. */
  private static String inboundOf(ChaosLab lab, String cluster, String workload) throws Exception {
    for (JsonNode proxy : lab.clusterStatus(cluster).path("proxies")) {
      if (proxy.path("workload").asText().equals(workload)) {
        String outbound = proxy.path("outbound").asText();
        return outbound.substring(0, outbound.lastIndexOf(':')) + ":8080";
      }
    }
    throw new AssertionError("no " + workload + " in " + cluster);
  }

  /** Whether a plain-text request straight to a sidecar's inbound port gets an answer. */
  private static boolean plaintextAnswered(String address) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    try {
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(URI.create("http://" + address + "/"))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200;
    } catch (java.io.IOException refused) {
      return false;
    }
  }

  /** The status of one request from a cluster's load generator, through its sidecar. */
  private static int statusOf(ChaosLab lab, String from, String service, String path)
      throws Exception {
    HttpClient client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(LabTraffic.loadgenSidecar(lab.lab.dir(), from)))
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    return client
        .send(
            HttpRequest.newBuilder(
                    URI.create("http://" + service + ".shop.svc.cluster.local:8080" + path))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }

  /** Waits until every connected proxy acknowledged config made from every stored policy. */
  private static void awaitEveryProxyHoldsThePolicies(AdminClient admin) {
    await("every proxy holds the config of every policy")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              JsonNode items = admin.policies("", "", "").body().path("items");
              for (JsonNode item : items) {
                JsonNode status = item.path("status");
                if (!status.path("inMesh").asBoolean()
                    || status.path("proxies").asInt() == 0
                    || status.path("proxiesSynced").asInt() != status.path("proxies").asInt()) {
                  return false;
                }
              }
              return true;
            });
  }

  /** Which versions answer {@code n} requests with {@code headers}, through a loadgen's sidecar. */
  private static Map<String, Integer> versions(
      ChaosLab lab, String from, String service, Map<String, String> headers, int n)
      throws Exception {
    HttpClient client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(LabTraffic.loadgenSidecar(lab.lab.dir(), from)))
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    Map<String, Integer> versions = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create("http://" + service + ".shop.svc.cluster.local:8080/"))
              .timeout(Duration.ofSeconds(5));
      headers.forEach(request::header);
      HttpResponse<String> response =
          client.send(request.build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      versions.merge(JSON.readTree(response.body()).path("version").asText(), 1, Integer::sum);
    }
    return versions;
  }

  /** The {@code fedmesh} command, pointed at the lab's controller. */
  private static final class Cli {
    private final String controller;
    private final Path token;
    private final Path roots;
    private final Path dir;

    Cli(LocalLab lab, Path dir) throws Exception {
      this.controller = LocalLab.controllerAdmin(lab.dir()).orElseThrow();
      this.token = lab.dir().resolve("admin-token");
      this.roots = LocalLab.adminRoots(lab.dir()).orElseThrow();
      this.dir = dir;
    }

    void apply(String file, String yaml) throws Exception {
      Path path = dir.resolve(file);
      Files.writeString(path, yaml);
      run(0, "apply", "-f", path.toString());
    }

    void delete(String kind, String name, String namespace) {
      run(0, "delete", kind, name, "-n", namespace);
    }

    String run(int expectedExit, String... args) {
      String[] full = new String[args.length + 6];
      System.arraycopy(args, 0, full, 0, args.length);
      full[args.length] = "--controller";
      full[args.length + 1] = controller;
      full[args.length + 2] = "--admin-token-file";
      full[args.length + 3] = token.toString();
      full[args.length + 4] = "--ca-file";
      full[args.length + 5] = roots.toString();
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int exit = FedmeshCommand.run(new PrintWriter(out, true), new PrintWriter(err, true), full);
      assertThat(exit)
          .as("fedmesh " + String.join(" ", args) + "\n" + out + err)
          .isEqualTo(expectedExit);
      return out.toString();
    }
  }
}
