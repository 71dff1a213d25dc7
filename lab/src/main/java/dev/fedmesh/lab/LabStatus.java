package dev.fedmesh.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.lab.cluster.ClusterSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@code fedmesh lab status}: the lab's processes, addresses and proxies, as a table or JSON. */
final class LabStatus {
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path dir;
  private final PrintStream out;

  LabStatus(Path dir, PrintStream out) {
    this.dir = dir;
    this.out = out;
  }

  /** Everything as one JSON object: processes, controller, clusters with gateway and proxies. */
  ObjectNode json(LabState state) {
    ObjectNode root = JSON.createObjectNode();
    root.put("dir", dir.toString());
    root.put("etcd", state.etcd());
    root.put("controllerXds", state.controllerXds());
    root.put("controllerAdmin", state.controllerAdmin());
    ArrayNode processes = root.putArray("processes");
    for (LabProcess process : state.processes()) {
      ObjectNode p = processes.addObject();
      p.put("name", process.name());
      p.put("pid", process.pid());
      p.put("running", process.isRunning());
      p.put("log", process.log().toString());
    }
    ObjectNode clusters = root.putObject("clusters");
    for (LabTopology.Member member : LabTopology.members()) {
      Path file = dir.resolve("clusters").resolve(member.name()).resolve("status.json");
      boolean running =
          state.processes().stream()
              .anyMatch(
                  p -> p.name().equals(LocalLab.clusterProcess(member.name())) && p.isRunning());
      ObjectNode cluster = clusters.putObject(member.name());
      cluster.put("region", member.region());
      cluster.put("running", running);
      if (running && Files.exists(file)) {
        try {
          JsonNode status = JSON.readTree(file.toFile());
          cluster.setAll((ObjectNode) status);
        } catch (IOException e) {
          cluster.put("status", "unreadable: " + e.getMessage());
        }
      }
    }
    return root;
  }

  void print(LabState state, boolean asJson) throws IOException {
    ObjectNode status = json(state);
    if (asJson) {
      out.println(JSON.writeValueAsString(status));
      return;
    }
    out.printf("%-14s %-8s %-8s %s%n", "PROCESS", "PID", "STATE", "LOG");
    for (JsonNode process : status.path("processes")) {
      out.printf(
          "%-14s %-8d %-8s %s%n",
          process.path("name").asText(),
          process.path("pid").asLong(),
          process.path("running").asBoolean() ? "running" : "exited",
          dir.relativize(Path.of(process.path("log").asText())));
    }
    out.printf(
        "%netcd %s%ncontroller xDS %s, admin %s%n",
        status.path("etcd").asText(),
        status.path("controllerXds").asText(),
        status.path("controllerAdmin").asText());
    out.printf(
        "%n%-9s %-11s %-8s %-22s %-22s %s%n",
        "CLUSTER", "REGION", "STATE", "GATEWAY", "GATEWAY ADMIN", "KUBERNETES API");
    status
        .path("clusters")
        .fields()
        .forEachRemaining(
            entry -> {
              JsonNode c = entry.getValue();
              out.printf(
                  "%-9s %-11s %-8s %-22s %-22s %s%n",
                  entry.getKey(),
                  c.path("region").asText(),
                  !c.path("running").asBoolean()
                      ? "killed"
                      : c.path("ready").asBoolean() ? "ready" : "starting",
                  c.path("gateway").asText("-"),
                  c.path("gatewayAdmin").asText("-"),
                  c.path("kubernetesApi").asText("-"));
            });
    out.printf(
        "%n%-9s %-14s %-13s %-19s %-19s %s%n",
        "CLUSTER", "WORKLOAD", "ZONE", "SIDECAR (OUTBOUND)", "ADMIN / METRICS", "SYNC");
    status
        .path("clusters")
        .fields()
        .forEachRemaining(
            entry -> {
              for (JsonNode proxy : entry.getValue().path("proxies")) {
                String sync =
                    proxy.path("ready").asBoolean()
                        ? "SYNCED"
                        : proxy
                            .path("notReady")
                            .asText(
                                proxy.path("xdsConnected").asBoolean()
                                    ? "CONNECTED"
                                    : "DISCONNECTED");
                if (proxy.has("lastNack")) {
                  sync += " (last NACK: " + proxy.path("lastNack").asText() + ")";
                }
                out.printf(
                    "%-9s %-14s %-13s %-19s %-19s %s%n",
                    entry.getKey(),
                    proxy.path("workload").asText(),
                    proxy.path("zone").asText(),
                    proxy.path("outbound").asText(),
                    proxy.path("admin").asText(),
                    sync);
              }
            });
  }

  /**
   * Writes a Prometheus scrape config for the lab: every sidecar's admin address (metrics at {@code
   * /stats/prometheus}) and every gateway's ({@code /metrics}), labelled with its cluster, so that
   * Prometheus (and the Grafana dashboard in {@code deploy/grafana}) read the lab as they would
   * read a mesh.
   *
   * @return the file written ({@code prometheus.yml} in the lab directory)
   */
  Path writePrometheusConfig(LabState state) throws IOException {
    ObjectNode status = json(state);
    StringBuilder yaml = new StringBuilder();
    yaml.append("# Written by ./fedmesh lab up: the running lab's sidecars and gateways.\n")
        .append("global:\n  scrape_interval: 5s\n")
        .append("scrape_configs:\n");
    yaml.append("  - job_name: fedmesh-sidecars\n")
        .append("    metrics_path: /stats/prometheus\n")
        .append("    static_configs:\n");
    status
        .path("clusters")
        .fields()
        .forEachRemaining(
            entry -> {
              List<String> targets = new java.util.ArrayList<>();
              for (JsonNode proxy : entry.getValue().path("proxies")) {
                String admin = proxy.path("admin").asText();
                if (!admin.isEmpty()) {
                  // Istio's stats port, on the sidecar's (the pod's) address.
                  targets.add(
                      "'"
                          + admin.substring(0, admin.lastIndexOf(':') + 1)
                          + ClusterSpec.STATS_PORT
                          + "'");
                }
              }
              yaml.append("      - targets: [")
                  .append(String.join(", ", targets))
                  .append("]\n        labels: {lab_cluster: '")
                  .append(entry.getKey())
                  .append("'}\n");
            });
    yaml.append("  - job_name: fedmesh-gateways\n")
        .append("    metrics_path: /metrics\n")
        .append("    static_configs:\n");
    status
        .path("clusters")
        .fields()
        .forEachRemaining(
            entry -> {
              String admin = entry.getValue().path("gatewayAdmin").asText("");
              if (!admin.isEmpty()) {
                yaml.append("      - targets: ['")
                    .append(admin)
                    .append("']\n        labels: {lab_cluster: '")
                    .append(entry.getKey())
                    .append("'}\n");
              }
            });
    Path file = dir.resolve("prometheus.yml");
    Files.writeString(file, yaml.toString());
    return file;
  }
}
