package dev.fedmesh.agent.kubernetes;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.List;
import java.util.Optional;

/** What the agent knows of the cluster's objects: the informers' caches, read-only. */
interface KubernetesView {
  List<Service> services();

  /** The EndpointSlices labelled {@code kubernetes.io/service-name} for the service. */
  List<EndpointSlice> slicesOf(String namespace, String service);

  Optional<Pod> pod(String namespace, String name);

  Optional<Node> node(String name);

  Optional<Namespace> namespace(String name);

  /** Whether a ServiceExport of the same namespace and name exists. */
  boolean hasServiceExport(String namespace, String name);
}
