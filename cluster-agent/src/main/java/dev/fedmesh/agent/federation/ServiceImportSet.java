package dev.fedmesh.agent.federation;

import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.model.ServiceKey;
import java.util.List;
import java.util.Set;

/**
 * Everything this cluster imports, as of the controller's latest {@code ServiceImports} message
 * (the whole set, not a change).
 *
 * @param services the valid entries, one per service, in key order
 * @param invalid the services whose entry was listed but invalid: whatever the cluster holds for
 *     them is left as it is, neither updated nor removed
 * @param findings one per invalid entry, naming its fields and what was expected
 */
public record ServiceImportSet(
    List<ImportedService> services, Set<ServiceKey> invalid, List<Finding> findings) {

  public ServiceImportSet {
    services = List.copyOf(services);
    invalid = Set.copyOf(invalid);
    findings = List.copyOf(findings);
  }
}
