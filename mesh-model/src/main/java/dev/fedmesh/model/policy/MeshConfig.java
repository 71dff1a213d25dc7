package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;

/**
 * Mesh-wide defaults, named as Istio's {@code MeshConfig} names them; one document named {@code
 * default}. What it leaves out keeps the controller's own defaults (its {@code --region-failover}
 * flag among them).
 *
 * @param localityLbSetting the locality load balancing of every host no DestinationRule configures
 * @param outboundTrafficPolicy ALLOW_ANY (unknown destinations pass through) or REGISTRY_ONLY
 * @param connectTimeout the connect timeout of every outbound cluster
 * @param defaultHttpRetryPolicy the retries of routes that no VirtualService configures
 */
public record MeshConfig(
    ObjectMeta metadata,
    Optional<LocalityLbSetting> localityLbSetting,
    Optional<String> outboundTrafficPolicy,
    Optional<Duration> connectTimeout,
    Optional<VirtualService.Retries> defaultHttpRetryPolicy)
    implements Policy {
  /** The only name a MeshConfig may have. */
  public static final String NAME = "default";

  public MeshConfig {
    requireNonNull(metadata, "metadata");
  }

  @Override
  public MeshConfig withMetadata(ObjectMeta metadata) {
    return new MeshConfig(
        metadata, localityLbSetting, outboundTrafficPolicy, connectTimeout, defaultHttpRetryPolicy);
  }

  @Override
  public PolicyKind kind() {
    return PolicyKind.MESH_CONFIG;
  }

  static MeshConfig parse(ObjectMeta metadata, Fields spec) {
    if (!metadata.name().isEmpty() && !metadata.name().equals(NAME)) {
      spec.problems()
          .error(
              "metadata.name",
              "'" + metadata.name() + "' (expected: default; the mesh has one MeshConfig)");
    }
    Optional<LocalityLbSetting> locality =
        spec.object("localityLbSetting").flatMap(LocalityLbSetting::parse);
    Optional<String> outbound = Optional.empty();
    Optional<Fields> policy = spec.object("outboundTrafficPolicy");
    if (policy.isPresent()) {
      outbound = policy.get().oneOf("mode", "ALLOW_ANY", "REGISTRY_ONLY");
      policy.get().end();
    }
    Optional<Duration> connectTimeout = spec.duration("connectTimeout", Duration.ofMillis(1));
    Optional<VirtualService.Retries> retries = Optional.empty();
    Optional<Fields> retryFields = spec.object("defaultHttpRetryPolicy");
    if (retryFields.isPresent()) {
      retries = VirtualService.retriesOf(retryFields.get());
    }
    spec.unsupported("trustDomain", "the trust domain comes from the clusters' CAs");
    spec.unsupported("enableAutoMtls", "mTLS follows PeerAuthentication");
    spec.unsupported("defaultConfig", "proxy settings come from the injector");
    spec.unsupported("accessLogFile", "access logs are configured per sidecar");
    spec.end();
    return new MeshConfig(metadata, locality, outbound, connectTimeout, retries);
  }
}
