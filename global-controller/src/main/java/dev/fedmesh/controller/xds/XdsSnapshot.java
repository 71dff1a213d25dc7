package dev.fedmesh.controller.xds;

import com.google.protobuf.Message;
import dev.fedmesh.controller.configgen.XdsResources;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Snapshot;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A java-control-plane snapshot whose versions are content hashes scoped to what a proxy asked for.
 * A wildcard request (no names) sees one version per type; a request for named resources sees a
 * version of just those, so a proxy is pushed only when something it watches changes.
 *
 * <p>A request for names none of which exist sees the empty version, the same as a proxy that has
 * received nothing: the cache then keeps its watch open until one appears. With type-wide versions
 * the cache (in ADS mode) would instead answer such a watch with nothing and discard it on the next
 * snapshot, leaving the proxy waiting forever.
 */
final class XdsSnapshot extends Snapshot {
  private final Map<Resources.ResourceType, SnapshotResources<? extends Message>> byType =
      new EnumMap<>(Resources.ResourceType.class);

  XdsSnapshot(XdsResources resources) {
    byType.put(Resources.ResourceType.CLUSTER, scoped(resources.clusters()));
    byType.put(Resources.ResourceType.ENDPOINT, scoped(resources.endpoints()));
    byType.put(Resources.ResourceType.LISTENER, scoped(resources.listeners()));
    byType.put(Resources.ResourceType.ROUTE, scoped(resources.routes()));
    byType.put(Resources.ResourceType.SECRET, scoped(Map.of()));
  }

  @Override
  public String version(Resources.ResourceType type, List<String> resourceNames) {
    return byType.get(type).version(resourceNames);
  }

  @Override
  public Map<String, ? extends Message> resources(Resources.ResourceType type) {
    return byType.get(type).resources();
  }

  @Override
  @SuppressWarnings({"unchecked", "rawtypes"})
  public Map<String, VersionedResource<? extends Message>> versionedResources(
      Resources.ResourceType type) {
    Map resources = byType.get(type).versionedResources();
    return resources;
  }

  private static <T extends Message> SnapshotResources<T> scoped(Map<String, T> resources) {
    List<VersionedResource<T>> versioned = new ArrayList<>();
    java.util.SortedMap<String, String> versions = new java.util.TreeMap<>();
    for (Map.Entry<String, T> entry : resources.entrySet()) {
      String version = hash(List.of(entry.getKey()), List.of(entry.getValue().toByteArray()));
      versioned.add(VersionedResource.create(entry.getValue(), version));
      versions.put(entry.getKey(), version);
    }
    String wildcard = combine(versions, versions.keySet());
    return SnapshotResources.create(
        versioned,
        names -> {
          if (names.isEmpty()) {
            return wildcard;
          }
          TreeSet<String> present = new TreeSet<>(names);
          present.retainAll(versions.keySet());
          return present.isEmpty() ? "" : combine(versions, present);
        });
  }

  private static String combine(Map<String, String> versions, Iterable<String> names) {
    List<String> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (String name : names) {
      keys.add(name);
      values.add(versions.get(name).getBytes(StandardCharsets.UTF_8));
    }
    return hash(keys, values);
  }

  private static String hash(List<String> names, List<byte[]> contents) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      for (int i = 0; i < names.size(); i++) {
        digest.update(names.get(i).getBytes(StandardCharsets.UTF_8));
        digest.update((byte) 0);
        digest.update(contents.get(i));
        digest.update((byte) 0);
      }
      return HexFormat.of().formatHex(digest.digest(), 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }
}
