package dev.fedmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.testkit.EtcdExtension;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The policy commands as a user runs them, against a controller on a real etcd. */
class PolicyCommandsIT {
  private static final String TOKEN = "policy-commands-test-token-0123456789";

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @TempDir Path dir;

  private GlobalController controller;
  private Path tokenFile;

  @BeforeEach
  void start() throws Exception {
    controller =
        GlobalController.start(
            ControllerConfig.builder(
                    List.of(etcd.endpoints()),
                    new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 0))
                .debounce(Duration.ofMillis(20), Duration.ofMillis(100))
                .adminToken(TOKEN)
                .build());
    tokenFile = Files.writeString(dir.resolve("admin-token"), TOKEN);
    AdminClient admin = new AdminClient(address(), TOKEN);
    await().atMost(Duration.ofSeconds(30)).until(admin::ready);
  }

  @AfterEach
  void stop() {
    if (controller != null) {
      // Leave etcd as the next test expects it: no policies.
      CliRun.of(withController("delete", "-f", dir.resolve("rules.yaml").toString()));
      controller.close();
    }
  }

  private String address() {
    return "127.0.0.1:" + controller.adminAddress().getPort();
  }

  private String[] withController(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--controller", address(), "--admin-token-file", tokenFile.toString()));
    return all.toArray(String[]::new);
  }

  private Path write(String name, String yaml) throws Exception {
    return Files.writeString(dir.resolve(name), yaml);
  }

  private static final String RULES =
      """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: checkout, namespace: shop}
      spec:
        host: checkout
        subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: checkout, namespace: shop}
      spec:
        hosts: [checkout]
        http:
        - route:
          - {destination: {host: checkout, subset: v1}, weight: 90}
          - {destination: {host: checkout, subset: v2}, weight: 10}
      """;

  @Test
  void validateListsEveryErrorOfEveryFileWithoutAController() throws Exception {
    write("ok.yaml", RULES);
    write(
        "bad.yaml",
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: bad, namespace: shop}
        spec:
          hosts: [payments]
          http:
          - route: [{destination: {host: payments}}]
            mirror: {host: shadow}
            timeout: soon
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: bad-subset, namespace: shop}
        spec:
          hosts: [payments.shop]
          http: [{route: [{destination: {host: payments, subset: v9}}]}]
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: payments, namespace: shop}
        spec: {host: payments, subsets: [{name: v1, labels: {version: v1}}]}
        """);

    CliRun run = CliRun.of("validate", "-f", dir.toString());

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err().lines().toList())
        .containsExactlyInAnyOrder(
            dir.resolve("bad.yaml") + ":1: spec.http[0].mirror: not supported (traffic mirroring)",
            dir.resolve("bad.yaml")
                + ":1: spec.http[0].timeout: 'soon' (expected: a duration such as 500ms, 1.5s or 1m)",
            dir.resolve("bad.yaml")
                + ":2: spec.http[0].route[0].destination.subset: 'v9' is not a subset of"
                + " DestinationRule/shop/payments (expected: one of [v1])");
    assertThat(CliRun.of("validate", "-f", dir.resolve("ok.yaml").toString()).exitCode()).isZero();
  }

  @Test
  void applyGetDiffAndDeleteThroughTheController() throws Exception {
    Path rules = write("rules.yaml", RULES);

    CliRun applied = CliRun.of(withController("apply", "-f", rules.toString()));
    assertThat(applied.exitCode()).as(applied.err()).isZero();
    assertThat(applied.out())
        .contains("DestinationRule/shop/checkout created")
        .contains("VirtualService/shop/checkout created");

    CliRun listed = CliRun.of(withController("get", "vs", "-n", "shop"));
    assertThat(listed.exitCode()).isZero();
    assertThat(listed.out()).contains("VirtualService").contains("checkout");
    CliRun yaml = CliRun.of(withController("get", "dr", "checkout", "-n", "shop", "-o", "yaml"));
    assertThat(yaml.out()).contains("resourceVersion:").contains("name: \"v2\"");

    assertThat(CliRun.of(withController("diff", "-f", rules.toString())).exitCode())
        .as("nothing would change")
        .isZero();
    Path changed =
        write(
            "changed.yaml",
            RULES.replace("weight: 90", "weight: 50").replace("weight: 10", "weight: 50"));
    CliRun diff = CliRun.of(withController("diff", "-f", changed.toString()));
    assertThat(diff.exitCode()).isEqualTo(1);
    assertThat(diff.out()).contains("-      weight: 90").contains("+      weight: 50");

    CliRun analyzed = CliRun.of(withController("analyze"));
    assertThat(analyzed.exitCode()).as("the host has no endpoints yet").isEqualTo(2);
    assertThat(analyzed.out()).contains("FM001").contains("UnknownHost");

    CliRun deleted = CliRun.of(withController("delete", "vs", "checkout", "-n", "shop"));
    assertThat(deleted.exitCode()).as(deleted.err()).isZero();
    assertThat(deleted.out()).contains("VirtualService/shop/checkout deleted");
    CliRun missing = CliRun.of(withController("get", "vs", "checkout", "-n", "shop"));
    assertThat(missing.exitCode()).isEqualTo(1);
  }

  @Test
  void aRefusedApplyPrintsTheControllersErrorsAndWritesNothing() throws Exception {
    Path rules = write("rules.yaml", RULES);
    assertThat(CliRun.of(withController("apply", "-f", rules.toString())).exitCode()).isZero();
    Path second =
        write(
            "second.yaml",
            RULES.split("---")[1].replace(
                "name: checkout, namespace: shop", "name: checkout-2, namespace: shop"));

    CliRun refused = CliRun.of(withController("apply", "-f", second.toString()));

    assertThat(refused.exitCode()).isEqualTo(1);
    assertThat(refused.err())
        .contains(
            second
                + ":1: spec.hosts[0]: 'checkout.shop.svc.cluster.local' is already routed by VirtualService/shop/checkout")
        .contains("nothing written");
    assertThat(CliRun.of(withController("get", "vs", "-n", "shop")).out())
        .doesNotContain("checkout-2");
  }
}
