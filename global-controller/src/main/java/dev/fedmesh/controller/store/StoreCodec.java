package dev.fedmesh.controller.store;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.fedmesh.controller.model.MeshChange;
import dev.fedmesh.federation.v1.Hello;
import dev.fedmesh.federation.v1.ServiceState;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.FederationCodec;
import dev.fedmesh.model.InvalidMessageException;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.policy.Policy;
import dev.fedmesh.model.policy.PolicyDocuments;
import dev.fedmesh.model.policy.PolicyError;
import io.etcd.jetcd.ByteSequence;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Values in etcd are the federation protocol's own messages as JSON, so an operator can read them
 * with {@code etcdctl get --prefix /fedmesh/v1/}. Decoding validates as strictly as the federation
 * server does: a value the controller would not accept from an agent is not accepted from etcd
 * either.
 */
final class StoreCodec {
  /**
   * Map keys sorted: one state is always the same bytes, whichever replica wrote it, so a write can
   * be skipped when the bytes already stored are equal.
   */
  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().omittingInsignificantWhitespace().sortingMapKeys();

  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

  private StoreCodec() {}

  static ByteSequence utf8(String text) {
    return ByteSequence.from(text, StandardCharsets.UTF_8);
  }

  static ByteSequence encode(ClusterInfo info) {
    return json(FederationCodec.hello(info));
  }

  static ByteSequence encode(ServiceEndpoints shard) {
    return json(FederationCodec.serviceState(shard));
  }

  private static ByteSequence json(com.google.protobuf.MessageOrBuilder message) {
    try {
      return utf8(PRINTER.print(message));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print " + message.getClass().getSimpleName(), e);
    }
  }

  /**
   * The change a put of {@code value} at {@code key} means, or empty for keys outside the layout.
   *
   * @throws InvalidMessageException when the value does not decode or validate
   */
  static Optional<MeshChange> decodePut(String key, ByteSequence value)
      throws InvalidMessageException {
    return decodePut(key, value, 0, 0);
  }

  /**
   * As {@link #decodePut(String, ByteSequence)}, with the key's etcd mod revision and version,
   * which become a policy's resourceVersion and generation.
   */
  static Optional<MeshChange> decodePut(
      String key, ByteSequence value, long modRevision, long version)
      throws InvalidMessageException {
    Optional<KeyLayout.Parsed> parsed = KeyLayout.parse(key);
    if (parsed.isEmpty()) {
      return Optional.empty();
    }
    if (parsed.get() instanceof KeyLayout.PolicyKey policyKey) {
      return Optional.of(
          new MeshChange.PolicyPut(decodePolicy(policyKey, key, value, modRevision, version)));
    }
    if (parsed.get() instanceof KeyLayout.VirtualAddressKey vip) {
      String address = value.toString(StandardCharsets.UTF_8);
      if (!dev.fedmesh.model.Addresses.isIpLiteral(address)) {
        throw new InvalidMessageException(
            java.util.List.of("address: '" + address + "' (expected: an IP address)"));
      }
      return Optional.of(new MeshChange.VirtualAddressPut(vip.host(), address));
    }
    String json = value.toString(StandardCharsets.UTF_8);
    try {
      if (parsed.get() instanceof KeyLayout.ClusterKey cluster) {
        Hello.Builder hello = Hello.newBuilder();
        PARSER.merge(json, hello);
        ClusterInfo info = FederationCodec.clusterInfo(hello.build());
        if (!info.name().equals(cluster.cluster())) {
          throw new InvalidMessageException(
              java.util.List.of(
                  "cluster: '" + info.name() + "' (expected: '" + cluster.cluster() + "')"));
        }
        return Optional.of(new MeshChange.ClusterPut(info));
      }
      if (parsed.get() instanceof KeyLayout.SessionKey session) {
        return Optional.of(new MeshChange.SessionPut(session.cluster()));
      }
      KeyLayout.EndpointsKey endpoints = (KeyLayout.EndpointsKey) parsed.get();
      ServiceState.Builder state = ServiceState.newBuilder();
      PARSER.merge(json, state);
      ServiceEndpoints shard = FederationCodec.serviceEndpoints(endpoints.cluster(), state.build());
      if (!shard.service().equals(endpoints.service())) {
        throw new InvalidMessageException(
            java.util.List.of(
                "service: '" + shard.service() + "' (expected: '" + endpoints.service() + "')"));
      }
      return Optional.of(new MeshChange.ServicePut(shard));
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidMessageException(java.util.List.of("value: " + e.getMessage()));
    }
  }

  /** The policy stored at {@code key}, validated as strictly as an apply validates it. */
  static Policy decodePolicy(
      KeyLayout.PolicyKey policyKey, String key, ByteSequence value, long modRevision, long version)
      throws InvalidMessageException {
    PolicyDocuments.Result result = PolicyDocuments.readStored(key, value.getBytes());
    if (result.hasErrors() || result.policies().size() != 1) {
      throw new InvalidMessageException(
          result.errors().stream().map(PolicyError::toString).toList().isEmpty()
              ? java.util.List.of("expected one policy document")
              : result.errors().stream().map(PolicyError::toString).toList());
    }
    Policy policy = result.policies().get(0);
    if (!policy.id().equals(policyKey.id())) {
      throw new InvalidMessageException(
          java.util.List.of("policy: '" + policy.id() + "' (expected: '" + policyKey.id() + "')"));
    }
    return policy.withMetadata(policy.metadata().stored(String.valueOf(modRevision), version));
  }

  /** The change a delete at {@code key} means, or empty for keys outside the layout. */
  static Optional<MeshChange> decodeDelete(String key) {
    return KeyLayout.parse(key)
        .map(
            parsed -> {
              if (parsed instanceof KeyLayout.ClusterKey cluster) {
                return new MeshChange.ClusterDeleted(cluster.cluster());
              }
              if (parsed instanceof KeyLayout.SessionKey session) {
                return new MeshChange.SessionDeleted(session.cluster());
              }
              if (parsed instanceof KeyLayout.PolicyKey policy) {
                return new MeshChange.PolicyDeleted(policy.id());
              }
              if (parsed instanceof KeyLayout.VirtualAddressKey vip) {
                return new MeshChange.VirtualAddressDeleted(vip.host());
              }
              KeyLayout.EndpointsKey endpoints = (KeyLayout.EndpointsKey) parsed;
              return new MeshChange.ServiceDeleted(endpoints.cluster(), endpoints.service());
            });
  }
}
