package dev.fedmesh.controller.model;

import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.policy.Policy;

/** One change to the stored mesh, decoded from the store's watch. */
public sealed interface MeshChange {
  record ClusterPut(ClusterInfo info) implements MeshChange {}

  record ClusterDeleted(ClusterName cluster) implements MeshChange {}

  record SessionPut(ClusterName cluster) implements MeshChange {}

  record SessionDeleted(ClusterName cluster) implements MeshChange {}

  record ServicePut(ServiceEndpoints shard) implements MeshChange {}

  record ServiceDeleted(ClusterName cluster, ServiceKey service) implements MeshChange {}

  /** A policy stored, with its resourceVersion and generation from the store. */
  record PolicyPut(Policy policy) implements MeshChange {}

  /**
   * @param id the policy's id, as {@link Policy#id()}
   */
  record PolicyDeleted(String id) implements MeshChange {}

  /** A host's virtual address stored (see {@code VirtualAddresses}). */
  record VirtualAddressPut(String host, String address) implements MeshChange {}

  /** A host's virtual address released. */
  record VirtualAddressDeleted(String host) implements MeshChange {}
}
