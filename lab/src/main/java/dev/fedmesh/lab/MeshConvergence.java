package dev.fedmesh.lab;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fedmesh.controller.admin.AdminClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether the lab's mesh has converged: every sidecar of every running cluster has accepted a
 * config that reaches every service the controller announces with a healthy endpoint in a cluster
 * it still serves. Having <em>some</em> config is not enough: a sidecar that lacks one service
 * answers 404 for it, and a lab or a chaos test that starts traffic then mixes warm-up with the
 * fault it is about to inject.
 */
final class MeshConvergence {
  private MeshConvergence() {}

  /**
   * What keeps the mesh from having converged, or empty when it has.
   *
   * @param controllerAdmins admin clients of the running controller replicas; the first that is
   *     ready (its model published from etcd) is asked
   * @param clusterStatus the {@code status.json} of each running cluster, by cluster name
   */
  static Optional<String> missing(
      List<AdminClient> controllerAdmins, List<ClusterStatus> clusterStatus) {
    Optional<Set<String>> announced = announcedServices(controllerAdmins);
    if (announced.isEmpty()) {
      return Optional.of("no controller replica is ready");
    }
    for (ClusterStatus cluster : clusterStatus) {
      JsonNode status;
      try {
        if (!Files.exists(cluster.file())) {
          return Optional.of("cluster " + cluster.name() + " has written no status yet");
        }
        status = LabStatus.JSON.readTree(cluster.file().toFile());
      } catch (IOException e) {
        return Optional.of("cluster " + cluster.name() + ": status unreadable (" + e + ")");
      }
      for (JsonNode proxy : status.path("proxies")) {
        Set<String> reachable = new HashSet<>();
        // Domains carry the port ("payments.shop.svc.cluster.local:8080"); services do not.
        proxy
            .path("reachableHosts")
            .forEach(host -> reachable.add(host.asText().replaceFirst(":\\d+$", "")));
        Set<String> unreachable = new TreeSet<>(announced.get());
        unreachable.removeAll(reachable);
        if (!unreachable.isEmpty()) {
          return Optional.of(
              "sidecar "
                  + cluster.name()
                  + "/"
                  + proxy.path("workload").asText()
                  + " cannot reach "
                  + String.join(", ", unreachable)
                  + " yet");
        }
      }
    }
    return Optional.empty();
  }

  /** A running cluster's name and where its host process writes its status. */
  record ClusterStatus(String name, Path file) {}

  /**
   * The FQDNs of services with at least one healthy endpoint in a cluster whose endpoints are still
   * served (not expired), as the first ready replica sees them.
   */
  private static Optional<Set<String>> announcedServices(List<AdminClient> controllerAdmins) {
    for (AdminClient admin : controllerAdmins) {
      JsonNode status;
      try {
        status = admin.status();
      } catch (IOException e) {
        continue;
      }
      if (!status.path("etcdSynced").asBoolean()) {
        continue;
      }
      Set<String> served = new HashSet<>();
      for (JsonNode cluster : status.path("clusters")) {
        if (!"EXPIRED".equals(cluster.path("liveness").asText())) {
          served.add(cluster.path("name").asText());
        }
      }
      Set<String> services = new TreeSet<>();
      for (JsonNode service : status.path("services")) {
        List<String> where = new ArrayList<>();
        service.path("clusters").fieldNames().forEachRemaining(where::add);
        boolean healthy =
            where.stream()
                .anyMatch(
                    cluster ->
                        served.contains(cluster)
                            && service.path("clusters").path(cluster).path("healthy").asLong() > 0);
        if (healthy) {
          services.add(service.path("name").asText());
        }
      }
      return Optional.of(services);
    }
    return Optional.empty();
  }
}
