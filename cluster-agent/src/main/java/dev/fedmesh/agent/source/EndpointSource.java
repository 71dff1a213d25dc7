package dev.fedmesh.agent.source;

import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import java.util.List;
import java.util.Map;

/**
 * Where an agent learns its cluster's services: Kubernetes in production, a file in simple setups
 * and tests. A source reports the complete current state every time anything changes.
 */
public interface EndpointSource extends AutoCloseable {
  /** Receives the cluster's complete state of services, each time it changes. */
  @FunctionalInterface
  interface Listener {
    void onServices(Map<ServiceKey, ServiceEndpoints> services);
  }

  /** Starts watching; the listener gets the first state as soon as it is known. */
  void start(Listener listener);

  /** What the source found wrong in the cluster's configuration, as of its latest state. */
  default List<Finding> findings() {
    return List.of();
  }

  @Override
  void close();
}
