package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.ServiceKey;

/**
 * The Multi-Cluster Services API's {@code ServiceExport}: the Service of the same name and
 * namespace is exported in every cluster, so callers on other networks reach each cluster's
 * endpoints through that cluster's east-west gateways, whether or not the cluster's own agent saw a
 * ServiceExport there. It has no spec.
 */
public record ServiceExport(ObjectMeta metadata) implements Policy {
  public ServiceExport {
    requireNonNull(metadata, "metadata");
  }

  @Override
  public PolicyKind kind() {
    return PolicyKind.SERVICE_EXPORT;
  }

  @Override
  public ServiceExport withMetadata(ObjectMeta metadata) {
    return new ServiceExport(metadata);
  }

  /** The Service exported. */
  public ServiceKey service() {
    return ServiceKey.of(metadata.namespace(), metadata.name());
  }

  static ServiceExport parse(ObjectMeta metadata, Fields spec) {
    if (!metadata.name().isEmpty() && !ObjectMeta.DNS_LABEL.matcher(metadata.name()).matches()) {
      spec.problems()
          .error(
              "metadata.name",
              "'"
                  + metadata.name()
                  + "' (expected: the name of the Service to export, a DNS label)");
    }
    spec.end();
    return new ServiceExport(metadata);
  }
}
