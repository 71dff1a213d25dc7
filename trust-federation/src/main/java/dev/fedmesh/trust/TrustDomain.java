package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * A SPIFFE trust domain such as {@code fedmesh.local}: the name every identity of the mesh lives
 * under, and the key by which trust bundles are looked up.
 */
public record TrustDomain(String name) implements Comparable<TrustDomain> {
  private static final Pattern NAME = Pattern.compile("[a-z0-9._-]{1,255}");

  /** The mesh's default trust domain. */
  public static final TrustDomain DEFAULT = new TrustDomain("fedmesh.local");

  public TrustDomain {
    requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "trustDomain: '"
              + name
              + "' (expected: 1 to 255 lower-case letters, digits, '.', '-' or '_')");
    }
  }

  public static TrustDomain of(String name) {
    return new TrustDomain(name);
  }

  /** {@code spiffe://<name>}: the trust domain's own SPIFFE ID, which has no path. */
  public SpiffeId id() {
    return new SpiffeId(this, "");
  }

  @Override
  public int compareTo(TrustDomain other) {
    return name.compareTo(other.name);
  }

  @Override
  public String toString() {
    return name;
  }
}
