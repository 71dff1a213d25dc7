package dev.fedmesh.lab;

import dev.fedmesh.lab.cluster.ClusterSpec;
import java.util.List;

/**
 * The lab's three clusters and the demo app (the retail example): {@code frontend} in east calls
 * {@code checkout}, which runs in all three clusters in versions v1 and v2 and calls {@code
 * payments}, which runs in west and central only. Every cluster has a load generator to send
 * traffic from.
 */
final class LabTopology {
  /** Callers in us-east fail over to us-west, then eu-central. */
  static final String FAILOVER = "us-east=us-west,eu-central";

  /** A cluster's name, region and loopback range. */
  record Member(String name, String region, String prefix, List<ClusterSpec.Workload> workloads) {}

  private LabTopology() {}

  static List<Member> members() {
    return List.of(
        new Member(
            "east",
            "us-east",
            "127.1",
            List.of(
                workload("frontend", "v1", "us-east-a", "checkout"),
                workload("checkout", "v1", "us-east-a", "payments"),
                workload("checkout", "v2", "us-east-b", "payments"),
                workload(ClusterSpec.LOADGEN, "v1", "us-east-a", ""))),
        new Member(
            "west",
            "us-west",
            "127.2",
            List.of(
                workload("checkout", "v1", "us-west-a", "payments"),
                workload("checkout", "v2", "us-west-a", "payments"),
                workload("payments", "v1", "us-west-a", ""),
                workload(ClusterSpec.LOADGEN, "v1", "us-west-a", ""))),
        new Member(
            "central",
            "eu-central",
            "127.3",
            List.of(
                workload("checkout", "v1", "eu-central-a", "payments"),
                workload("checkout", "v2", "eu-central-a", "payments"),
                workload("payments", "v1", "eu-central-a", ""),
                workload(ClusterSpec.LOADGEN, "v1", "eu-central-a", ""))));
  }

  private static ClusterSpec.Workload workload(
      String service, String version, String zone, String calls) {
    return new ClusterSpec.Workload(service, version, zone, calls);
  }
}
