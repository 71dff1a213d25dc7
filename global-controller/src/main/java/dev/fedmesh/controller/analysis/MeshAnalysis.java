package dev.fedmesh.controller.analysis;

import dev.fedmesh.controller.model.ClusterState;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.policy.DestinationRule;
import dev.fedmesh.model.policy.Hosts;
import dev.fedmesh.model.policy.LocalityLbSetting;
import dev.fedmesh.model.policy.Policy;
import dev.fedmesh.model.policy.PolicySet;
import dev.fedmesh.model.policy.VirtualService;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;

/**
 * Findings about the mesh as it is now: policies that name what does not exist, subsets nothing
 * uses or nothing fills, conflicts, exported services without endpoints, failover orders through
 * regions no cluster has. A pure function of one snapshot, like config generation; each finding has
 * a stable code so scripts can match on it.
 */
public final class MeshAnalysis {
  private MeshAnalysis() {}

  /**
   * One finding.
   *
   * @param code stable identifier, {@code FM0nn}
   * @param name a short name of the kind of finding
   * @param subject the policy id or service it is about
   * @param path the field of the policy, or empty
   * @param message what is wrong and what to do
   */
  public record Finding(String code, String name, String subject, String path, String message) {}

  /**
   * As {@link #findings(MeshSnapshot)}, with FM009 for every host that should have a virtual
   * address and has none because {@code range} is exhausted.
   */
  public static List<Finding> findings(
      MeshSnapshot mesh, java.util.Collection<String> withoutVirtualAddress, String range) {
    List<Finding> findings = findings(mesh);
    for (String host : withoutVirtualAddress) {
      findings.add(
          new Finding(
              "FM009",
              "VirtualAddressRangeExhausted",
              host,
              "",
              "no virtual address left in "
                  + range
                  + ": clusters without a Service of their own cannot resolve it; grow the range"
                  + " (--virtual-address-range) or release addresses by unexporting services"));
    }
    return findings;
  }

  public static List<Finding> findings(MeshSnapshot mesh) {
    List<Finding> findings = new ArrayList<>();
    PolicySet policies = mesh.policies();
    Set<String> routedSubsets = new HashSet<>();
    for (VirtualService vs : policies.virtualServices()) {
      for (int h = 0; h < vs.hosts().size(); h++) {
        String host = vs.hosts().get(h);
        if (!host.startsWith("*") && service(mesh, host).isEmpty() && !declared(mesh, host)) {
          findings.add(
              new Finding(
                  "FM001",
                  "UnknownHost",
                  vs.id(),
                  "spec.hosts[" + h + "]",
                  host + " is no service of the mesh: the routes apply to nothing until it runs"));
        }
      }
      for (int r = 0; r < vs.http().size(); r++) {
        List<VirtualService.Destination> route = vs.http().get(r).route();
        for (int d = 0; d < route.size(); d++) {
          VirtualService.Destination destination = route.get(d);
          routedSubsets.add(destination.host() + "|" + destination.subset());
          if (service(mesh, destination.host()).isEmpty() && !declared(mesh, destination.host())) {
            findings.add(
                new Finding(
                    "FM007",
                    "DestinationWithoutEndpoints",
                    vs.id(),
                    "spec.http[" + r + "].route[" + d + "].destination.host",
                    destination.host()
                        + " has no endpoints in any cluster: its share of traffic is given to the"
                        + " route's other destinations, or answered 503"));
          }
        }
      }
      vs.tcp().forEach(t -> t.route().forEach(d -> routedSubsets.add(d.host() + "|" + d.subset())));
    }
    for (DestinationRule rule : policies.destinationRules()) {
      Optional<SortedMap<ClusterName, ServiceEndpoints>> shards = service(mesh, rule.host());
      if (shards.isEmpty() && !rule.host().startsWith("*") && !declared(mesh, rule.host())) {
        findings.add(
            new Finding(
                "FM001",
                "UnknownHost",
                rule.id(),
                "spec.host",
                rule.host()
                    + " is no service of the mesh: the rule applies to nothing until it runs"));
      }
      for (int i = 0; i < rule.subsets().size(); i++) {
        DestinationRule.Subset subset = rule.subsets().get(i);
        if (!routedSubsets.contains(rule.host() + "|" + subset.name())) {
          findings.add(
              new Finding(
                  "FM002",
                  "UnusedSubset",
                  rule.id(),
                  "spec.subsets[" + i + "]",
                  "no route sends traffic to subset '" + subset.name() + "'"));
        }
        if (shards.isPresent() && !selectsAny(shards.get(), subset.labels())) {
          findings.add(
              new Finding(
                  "FM003",
                  "EmptySubset",
                  rule.id(),
                  "spec.subsets[" + i + "]",
                  "subset '"
                      + subset.name()
                      + "' selects no endpoint (labels "
                      + subset.labels()
                      + "): routes to it answer 503"));
        }
      }
      rule.trafficPolicy()
          .flatMap(DestinationRule.TrafficPolicy::loadBalancer)
          .flatMap(DestinationRule.LoadBalancer::localityLbSetting)
          .ifPresent(
              setting ->
                  unknownRegions(
                      mesh,
                      rule,
                      "spec.trafficPolicy.loadBalancer.localityLbSetting",
                      setting,
                      findings));
    }
    policies
        .meshConfig()
        .ifPresent(
            config ->
                config
                    .localityLbSetting()
                    .ifPresent(
                        setting ->
                            unknownRegions(
                                mesh, config, "spec.localityLbSetting", setting, findings)));
    for (PolicySet.Conflict conflict : policies.check(true)) {
      findings.add(
          new Finding(
              conflict.warning() ? "FM008" : "FM004",
              conflict.warning() ? "PolicyPrecedence" : "ConflictingPolicies",
              conflict.policy().id(),
              conflict.path(),
              conflict.message()));
    }
    for (Map.Entry<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> service :
        mesh.services().entrySet()) {
      for (ServiceEndpoints shard : service.getValue().values()) {
        boolean healthy =
            shard.endpoints().stream().anyMatch(e -> e.health() == EndpointHealth.HEALTHY);
        if (shard.exported() && !healthy) {
          findings.add(
              new Finding(
                  "FM005",
                  "ExportedWithoutEndpoints",
                  service.getKey().fqdn(),
                  "",
                  "exported from "
                      + shard.cluster().value()
                      + " with no healthy endpoint: other clusters get nothing from it"));
        }
      }
    }
    return findings;
  }

  private static void unknownRegions(
      MeshSnapshot mesh,
      Policy policy,
      String path,
      LocalityLbSetting setting,
      List<Finding> findings) {
    Set<String> regions = new HashSet<>();
    for (ClusterState cluster : mesh.clusters().values()) {
      regions.add(cluster.info().locality().region());
    }
    for (int i = 0; i < setting.failover().size(); i++) {
      LocalityLbSetting.Failover failover = setting.failover().get(i);
      for (String region : List.of(failover.from(), failover.to())) {
        if (!regions.contains(region)) {
          findings.add(
              new Finding(
                  "FM006",
                  "UnknownFailoverRegion",
                  policy.id(),
                  path + ".failover[" + i + "]",
                  "no cluster is in region '"
                      + region
                      + "' (regions: "
                      + new java.util.TreeSet<>(regions)
                      + ")"));
        }
      }
    }
  }

  private static boolean selectsAny(
      SortedMap<ClusterName, ServiceEndpoints> shards, Map<String, String> labels) {
    for (ServiceEndpoints shard : shards.values()) {
      for (Endpoint endpoint : shard.endpoints()) {
        if (labels.entrySet().stream()
            .allMatch(l -> l.getValue().equals(endpoint.labels().get(l.getKey())))) {
          return true;
        }
      }
    }
    return false;
  }

  /** Whether a ServiceEntry declares {@code host}: its routes and rules apply to the entry. */
  private static boolean declared(MeshSnapshot mesh, String host) {
    return mesh.policies().serviceEntryFor(host).isPresent();
  }

  private static Optional<SortedMap<ClusterName, ServiceEndpoints>> service(
      MeshSnapshot mesh, String host) {
    return Hosts.service(host).map(key -> mesh.services().get(key));
  }
}
