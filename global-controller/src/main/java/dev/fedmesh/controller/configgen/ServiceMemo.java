package dev.fedmesh.controller.configgen;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import java.util.SortedMap;
import java.util.function.Supplier;

/** Remembers services' generated resources between pushes; see {@link ConfigGenerator}. */
@FunctionalInterface
public interface ServiceMemo {
  /** A memo that remembers nothing. */
  ServiceMemo NONE = (service, shards, generate) -> generate.get();

  /**
   * The resources of {@code service} given its {@code shards}: remembered ones if the shards are
   * the same as when they were generated, else {@code generate}'s.
   */
  XdsResources resources(
      ServiceKey service,
      SortedMap<ClusterName, ServiceEndpoints> shards,
      Supplier<XdsResources> generate);
}
