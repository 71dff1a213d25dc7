package dev.fedmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code fedmesh status}: the mesh as a controller replica sees it. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = "Shows clusters (connected, since, network, locality, endpoints) and services.")
final class StatusCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ControllerOptions options = new ControllerOptions();
  @Mixin OutputOptions output = new OutputOptions();

  @Override
  public Integer call() throws Exception {
    JsonNode status = options.client().status();
    PrintWriter out = spec.commandLine().getOut();
    if (output.printStructured(status, out)) {
      return 0;
    }
    out.printf(
        "controller %s  etcd %s  revision %d%n%n",
        status.path("replica").asText(),
        status.path("etcdSynced").asBoolean() ? "in sync" : "NOT IN SYNC (serving last state)",
        status.path("revision").asLong());
    out.printf(
        "%-12s %-10s %-9s %-22s %-14s %-24s %s%n",
        "CLUSTER", "CONNECTED", "LIVENESS", "SINCE", "NETWORK", "LOCALITY", "ENDPOINTS");
    for (JsonNode cluster : status.path("clusters")) {
      out.printf(
          "%-12s %-10s %-9s %-22s %-14s %-24s %d%n",
          cluster.path("name").asText(),
          cluster.path("connected").asBoolean() ? "yes" : "no",
          cluster.path("liveness").asText(),
          cluster.path("since").asText().replaceFirst("\\.\\d+Z$", "Z"),
          cluster.path("network").asText(),
          cluster.path("locality").asText(),
          cluster.path("endpoints").asInt());
    }
    out.printf(
        "%n%-44s %-16s %-60s %s%n",
        "SERVICE", "VIRTUAL ADDRESS", "CLUSTERS (healthy/endpoints, exported)", "IMPORTED BY");
    for (JsonNode service : status.path("services")) {
      StringBuilder where = new StringBuilder();
      Iterator<Map.Entry<String, JsonNode>> clusters = service.path("clusters").fields();
      while (clusters.hasNext()) {
        Map.Entry<String, JsonNode> entry = clusters.next();
        if (where.length() > 0) {
          where.append("  ");
        }
        where
            .append(entry.getKey())
            .append(' ')
            .append(entry.getValue().path("healthy").asInt())
            .append('/')
            .append(entry.getValue().path("endpoints").asInt())
            .append(entry.getValue().path("exported").asBoolean() ? " exported" : "");
      }
      List<String> importers = new ArrayList<>();
      service.path("importedBy").forEach(cluster -> importers.add(cluster.asText()));
      String address = service.path("virtualAddress").asText("");
      out.printf(
          "%-44s %-16s %-60s %s%n",
          service.path("name").asText(),
          address.isEmpty() ? "-" : address,
          where,
          importers.isEmpty() ? "-" : String.join(",", importers));
    }
    JsonNode unallocated = status.path("virtualAddresses").path("unallocated");
    if (unallocated.size() > 0) {
      List<String> hosts = new ArrayList<>();
      unallocated.forEach(host -> hosts.add(host.asText()));
      out.printf(
          "%nVIRTUAL ADDRESS RANGE %s EXHAUSTED: no address for %s%n",
          status.path("virtualAddresses").path("range").asText(), String.join(", ", hosts));
    }
    Iterator<Map.Entry<String, JsonNode>> refused = status.path("refused").fields();
    if (refused.hasNext()) {
      out.printf("%nREFUSED BY THIS REPLICA (the cluster keeps its last accepted state)%n");
      while (refused.hasNext()) {
        Map.Entry<String, JsonNode> cluster = refused.next();
        for (JsonNode reason : cluster.getValue()) {
          out.printf("%-12s %s%n", cluster.getKey(), reason.asText());
        }
      }
    }
    out.flush();
    return 0;
  }
}
