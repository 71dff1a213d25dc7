package dev.fedmesh.controller.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.model.policy.PolicyDocuments;
import dev.fedmesh.testkit.EtcdExtension;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Policy writes through the admin API into a real etcd: all-or-nothing applies, the store unchanged
 * after every refused one, optimistic concurrency and authentication.
 */
class PolicyApiIT {
  private static final String TOKEN = "policy-api-test-token-0123456789";
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  private GlobalController controller;
  private AdminClient admin;

  @BeforeEach
  void start() {
    controller = controller(TOKEN);
    admin = new AdminClient("127.0.0.1:" + controller.adminAddress().getPort(), TOKEN);
    await().atMost(Duration.ofSeconds(30)).until(admin::ready);
  }

  @AfterEach
  void stop() throws Exception {
    if (controller != null) {
      JsonNode all = admin.policies("", "", "").body().path("items");
      ArrayNode names = JSON.createArrayNode();
      for (JsonNode item : all) {
        JsonNode metadata = item.path("document").path("metadata");
        names
            .addObject()
            .put("kind", item.path("document").path("kind").asText())
            .put("namespace", metadata.path("namespace").asText(""))
            .put("name", metadata.path("name").asText());
      }
      if (!names.isEmpty()) {
        ObjectNode request = JSON.createObjectNode();
        request.set("policies", names);
        admin.deletePolicies(request);
      }
      controller.close();
    }
  }

  private static GlobalController controller(String token) {
    ControllerConfig.Builder config =
        ControllerConfig.builder(
                List.of(etcd.endpoints()),
                new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0))
            .debounce(Duration.ofMillis(20), Duration.ofMillis(100));
    if (token != null) {
      config.adminToken(token);
    }
    return GlobalController.start(config.build());
  }

  private static final String DR =
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

  private static final String VS =
      """
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

  private static ObjectNode request(String source, String yaml, boolean dryRun) {
    PolicyDocuments.Result result = PolicyDocuments.read(source, yaml);
    ObjectNode request = JSON.createObjectNode();
    request.put("dryRun", dryRun);
    ArrayNode documents = request.putArray("documents");
    for (PolicyDocuments.Document document : result.documents()) {
      documents
          .addObject()
          .put("source", document.source())
          .put("index", document.index())
          .set("document", document.json());
    }
    return request;
  }

  private AdminClient.PolicyAnswer apply(String yaml) throws Exception {
    return admin.applyPolicies(request("policies.yaml", yaml, false));
  }

  private List<String> stored() throws Exception {
    List<String> ids = new java.util.ArrayList<>();
    for (JsonNode item : admin.policies("", "", "").body().path("items")) {
      JsonNode doc = item.path("document");
      ids.add(
          doc.path("kind").asText()
              + "/"
              + doc.path("metadata").path("namespace").asText()
              + "/"
              + doc.path("metadata").path("name").asText()
              + "@"
              + doc.path("metadata").path("resourceVersion").asText());
    }
    return ids;
  }

  private static List<String> texts(JsonNode array) {
    List<String> result = new java.util.ArrayList<>();
    array.forEach(node -> result.add(node.asText()));
    return result;
  }

  @Test
  void anApplyIsStoredWholeReachesTheModelAndReappliesUnchanged() throws Exception {
    AdminClient.PolicyAnswer first = apply(DR + "---\n" + VS);

    assertThat(first.status()).as(first.body().toString()).isEqualTo(200);
    assertThat(first.body().path("results").findValuesAsText("action"))
        .containsExactly("created", "created");
    // Each subset selects no endpoint yet: said, not refused.
    assertThat(texts(first.body().path("warnings")))
        .anyMatch(
            w ->
                w.startsWith(
                    "policies.yaml:1: warning: spec.subsets[0]: 'v1' selects no endpoint"));
    await("the model carries both policies")
        .atMost(Duration.ofSeconds(10))
        .until(() -> controller.mesh().policies().size() == 2);
    assertThat(controller.mesh().policies().virtualServiceFor("checkout.shop.svc.cluster.local"))
        .isPresent();

    AdminClient.PolicyAnswer again = apply(DR + "---\n" + VS);
    assertThat(again.body().path("results").findValuesAsText("action"))
        .containsExactly("unchanged", "unchanged");

    AdminClient.PolicyAnswer changed =
        apply(VS.replace("weight: 90", "weight: 50").replace("weight: 10", "weight: 50"));
    assertThat(changed.body().path("results").findValuesAsText("action"))
        .containsExactly("configured");
    JsonNode vs = admin.policies("VirtualService", "shop", "checkout").body().path("items").get(0);
    assertThat(vs.path("document").path("metadata").path("generation").asInt()).isEqualTo(2);
  }

  @Test
  void everyRefusedApplyLeavesTheStoreAsItWas() throws Exception {
    assertThat(apply(DR).status()).isEqualTo(200);
    List<String> before = stored();

    // A route to a subset the stored DestinationRule lacks, and an invalid field, in one apply.
    AdminClient.PolicyAnswer invalid =
        apply(
            VS.replace("subset: v2", "subset: v3")
                + "---\n"
                + DR.replace("name: checkout", "name: other")
                    .replace("host: checkout", "host: payments")
                    .replace("subsets:", "colour: blue\n  subsets:"));
    assertThat(invalid.status()).isEqualTo(422);
    assertThat(texts(invalid.body().path("errors")))
        .containsExactly("policies.yaml:2: spec.colour: unknown field");

    AdminClient.PolicyAnswer missingSubset = apply(VS.replace("subset: v2", "subset: v3"));
    assertThat(missingSubset.status()).isEqualTo(422);
    assertThat(texts(missingSubset.body().path("errors")))
        .containsExactly(
            "policies.yaml:1: spec.http[0].route[1].destination.subset: 'v3' is not a subset of"
                + " DestinationRule/shop/checkout (expected: one of [v1, v2])");

    AdminClient.PolicyAnswer secondRule = apply(DR.replace("name: checkout,", "name: checkout-2,"));
    assertThat(secondRule.status()).isEqualTo(422);
    assertThat(texts(secondRule.body().path("errors")).get(0))
        .contains("already has DestinationRule/shop/checkout");

    assertThat(stored()).isEqualTo(before);
  }

  @Test
  void aStaleResourceVersionIsRefused() throws Exception {
    assertThat(apply(DR).status()).isEqualTo(200);
    String version =
        admin
            .policies("dr", "shop", "checkout")
            .body()
            .path("items")
            .get(0)
            .path("document")
            .path("metadata")
            .path("resourceVersion")
            .asText();
    String withVersion =
        DR.replace("namespace: shop}", "namespace: shop, resourceVersion: \"" + version + "\"}");
    // Someone else changes it first.
    assertThat(apply(DR.replace("version: v2}", "version: v2b}")).status()).isEqualTo(200);
    List<String> before = stored();

    AdminClient.PolicyAnswer stale = apply(withVersion);

    assertThat(stale.status()).isEqualTo(409);
    assertThat(texts(stale.body().path("errors")).get(0))
        .startsWith("policies.yaml:1: metadata.resourceVersion: '" + version + "' (expected: ");
    assertThat(stored()).isEqualTo(before);
  }

  @Test
  void writesNeedTheAdminToken() throws Exception {
    AdminClient anonymous = new AdminClient("127.0.0.1:" + controller.adminAddress().getPort());
    AdminClient.PolicyAnswer refused = anonymous.applyPolicies(request("a.yaml", DR, false));
    assertThat(refused.status()).isEqualTo(401);

    try (GlobalController open = controller(null)) {
      AdminClient noToken = new AdminClient("127.0.0.1:" + open.adminAddress().getPort());
      await().atMost(Duration.ofSeconds(30)).until(noToken::ready);
      AdminClient.PolicyAnswer forbidden = noToken.applyPolicies(request("a.yaml", DR, false));
      assertThat(forbidden.status()).isEqualTo(403);
      assertThat(texts(forbidden.body().path("errors")).get(0)).contains("admin token");
    }
    assertThat(stored()).isEmpty();
  }

  @Test
  void aDryRunChecksEverythingAndWritesNothing() throws Exception {
    AdminClient.PolicyAnswer dry = admin.applyPolicies(request("a.yaml", DR, true));
    assertThat(dry.status()).isEqualTo(200);
    assertThat(dry.body().path("results").findValuesAsText("action")).containsExactly("created");
    assertThat(stored()).isEmpty();
  }

  @Test
  void aThousandPoliciesApplyInOneTransactionAndReachTheModel() throws Exception {
    StringBuilder yaml = new StringBuilder();
    for (int i = 0; i < 1000; i++) {
      yaml.append(
          """
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: {name: svc-%d, namespace: load}
          spec:
            host: svc-%d
            trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
          ---
          """
              .formatted(i, i));
    }
    long start = System.nanoTime();
    AdminClient.PolicyAnswer answer = apply(yaml.toString());
    long applied = System.nanoTime();
    assertThat(answer.status()).as(answer.body().toString()).isEqualTo(200);
    assertThat(answer.body().path("results")).hasSize(1000);
    await("all 1000 in the model")
        .atMost(Duration.ofSeconds(30))
        .until(() -> controller.mesh().policies().size() == 1000);
    long modelled = System.nanoTime();
    System.out.printf(
        "POLICY-LOAD 1000 DestinationRules: apply (checked, stored) %d ms, in the published model"
            + " after %d ms%n",
        (applied - start) / 1_000_000, (modelled - start) / 1_000_000);
  }
}
