package dev.fedmesh.controller.xds;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Snapshot;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToLongFunction;

/**
 * A java-control-plane snapshot whose versions are content hashes scoped to what a proxy asked for.
 * A wildcard request (no names) sees one version per type; a request for named resources sees a
 * version of just those, so a proxy is pushed only when something it watches changes.
 *
 * <p>A request for names none of which exist sees the empty version, the same as a proxy that has
 * received nothing: the cache then keeps its watch open until one appears. With type-wide versions
 * the cache (in ADS mode) would instead answer such a watch with nothing and discard it on the next
 * snapshot, leaving the proxy waiting forever.
 *
 * <p>Each resource has a 64-bit content hash; the version of a set of names is the sum of their
 * hashes, each mixed with its name. Sums make the version independent of the order names are asked
 * in, and cost one lookup per name, which matters: the cache asks for every watching proxy's
 * version on every push.
 */
final class XdsSnapshot extends Snapshot {
  private final Map<Resources.ResourceType, Typed<?>> byType;

  private XdsSnapshot(Map<Resources.ResourceType, Typed<?>> byType) {
    this.byType = byType;
  }

  /** A snapshot of {@code resources}, hashing each resource's content. */
  static XdsSnapshot of(dev.fedmesh.controller.configgen.XdsResources resources) {
    ToLongFunction<Message> hash = XdsSnapshot::contentHash;
    Map<Resources.ResourceType, Typed<?>> byType = new EnumMap<>(Resources.ResourceType.class);
    byType.put(Resources.ResourceType.CLUSTER, Typed.of(resources.clusters(), hash));
    byType.put(Resources.ResourceType.ENDPOINT, Typed.of(resources.endpoints(), hash));
    byType.put(Resources.ResourceType.LISTENER, Typed.of(resources.listeners(), hash));
    byType.put(Resources.ResourceType.ROUTE, Typed.of(resources.routes(), hash));
    return of(byType);
  }

  /** A snapshot of already built types; the secret type is always empty (SDS is local). */
  static XdsSnapshot of(Map<Resources.ResourceType, Typed<?>> types) {
    Map<Resources.ResourceType, Typed<?>> byType = new EnumMap<>(types);
    byType.putIfAbsent(Resources.ResourceType.SECRET, Typed.of(Map.of(), XdsSnapshot::contentHash));
    return new XdsSnapshot(byType);
  }

  Typed<?> typed(Resources.ResourceType type) {
    return byType.get(type);
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

  /** The first 64 bits of the SHA-256 of a resource's serialized form. */
  static long contentHash(Message resource) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(resource.toByteArray());
      return ByteBuffer.wrap(digest).getLong();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }

  /** The resources of one type, with each one's content hash. Immutable once built. */
  static final class Typed<T extends Message> extends SnapshotResources<T> {
    /** Resource names repeat across every group and push: hash each name once. */
    private static final Map<String, Long> NAME_HASHES = new ConcurrentHashMap<>();

    private final Map<String, T> resources;
    private final Map<String, Long> mixed;
    private final long sum;
    private final String wildcard;
    private volatile Map<String, VersionedResource<T>> versioned;

    private Typed(Map<String, T> resources, Map<String, Long> mixed, long sum) {
      this.resources = resources;
      this.mixed = mixed;
      this.sum = sum;
      // Never empty: a wildcard subscriber must be answered even when there is nothing.
      this.wildcard = "w" + Long.toHexString(sum) + "-" + resources.size();
    }

    /**
     * This type with the resources named in {@code touched} taken from {@code current} (or removed,
     * where {@code current} has none): the cost is in the changes, not the type's size.
     */
    @SuppressWarnings("unchecked")
    Typed<T> with(
        java.util.Set<String> touched,
        Map<String, ? extends Message> current,
        ToLongFunction<Message> hashOf) {
      Map<String, T> copy = new HashMap<>(resources);
      Map<String, Long> mixedCopy = new HashMap<>(mixed);
      long total = sum;
      for (String name : touched) {
        Long old = mixedCopy.remove(name);
        copy.remove(name);
        if (old != null) {
          total -= old;
        }
        Message resource = current.get(name);
        if (resource != null) {
          long value = mix(name, hashOf.applyAsLong(resource));
          copy.put(name, (T) resource);
          mixedCopy.put(name, value);
          total += value;
        }
      }
      return new Typed<>(Collections.unmodifiableMap(copy), mixedCopy, total);
    }

    static <T extends Message> Typed<T> of(
        Map<String, ? extends T> resources, ToLongFunction<Message> hashOf) {
      Map<String, T> copy = new HashMap<>(resources);
      Map<String, Long> mixed = new HashMap<>(resources.size() * 2);
      long sum = 0;
      for (Map.Entry<String, ? extends T> entry : resources.entrySet()) {
        long value = mix(entry.getKey(), hashOf.applyAsLong(entry.getValue()));
        mixed.put(entry.getKey(), value);
        sum += value;
      }
      return new Typed<>(Collections.unmodifiableMap(copy), mixed, sum);
    }

    @Override
    public String version(List<String> names) {
      if (names.isEmpty()) {
        return wildcard;
      }
      long sum = 0;
      int present = 0;
      for (String name : names) {
        Long value = mixed.get(name);
        if (value != null) {
          sum += value;
          present++;
        }
      }
      return present == 0 ? "" : Long.toHexString(sum) + "-" + present;
    }

    @Override
    public Map<String, T> resources() {
      return resources;
    }

    /** Used by delta xDS only; built on first use. */
    @Override
    public Map<String, VersionedResource<T>> versionedResources() {
      Map<String, VersionedResource<T>> result = versioned;
      if (result == null) {
        Map<String, VersionedResource<T>> built = new HashMap<>(resources.size() * 2);
        resources.forEach(
            (name, resource) ->
                built.put(
                    name, VersionedResource.create(resource, Long.toHexString(mixed.get(name)))));
        result = Collections.unmodifiableMap(built);
        versioned = result;
      }
      return result;
    }

    @Override
    public io.envoyproxy.controlplane.cache.ResourceVersionResolver resourceVersionResolver() {
      return this::version;
    }

    private static long mix(String name, long hash) {
      long nameHash =
          NAME_HASHES.computeIfAbsent(
              name,
              key -> {
                long h = 0xcbf29ce484222325L;
                for (int i = 0; i < key.length(); i++) {
                  h = (h ^ key.charAt(i)) * 0x100000001b3L;
                }
                return h * 0x9E3779B97F4A7C15L;
              });
      return hash ^ nameHash;
    }
  }
}
