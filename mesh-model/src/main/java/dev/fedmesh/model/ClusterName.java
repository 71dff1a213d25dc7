package dev.fedmesh.model;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/** The name of a member cluster, unique in the mesh: a DNS label such as {@code us-east-1}. */
public record ClusterName(String value) implements Comparable<ClusterName> {
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  public ClusterName {
    requireNonNull(value, "value");
    if (!DNS_LABEL.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "cluster: '" + value + "' (expected: a DNS label, lower-case letters, digits and '-')");
    }
  }

  public static ClusterName of(String value) {
    return new ClusterName(value);
  }

  @Override
  public int compareTo(ClusterName other) {
    return value.compareTo(other.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
