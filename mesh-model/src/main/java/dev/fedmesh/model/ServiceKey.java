package dev.fedmesh.model;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/** A service by namespace and name; the same key names the same service in every cluster. */
public record ServiceKey(String namespace, String name) implements Comparable<ServiceKey> {
  /** The DNS suffix of Kubernetes services; the mesh names services by this FQDN. */
  public static final String DOMAIN_SUFFIX = "svc.cluster.local";

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  public ServiceKey {
    requireNonNull(namespace, "namespace");
    requireNonNull(name, "name");
    if (!DNS_LABEL.matcher(namespace).matches()) {
      throw new IllegalArgumentException("namespace: '" + namespace + "' (expected: a DNS label)");
    }
    if (!DNS_LABEL.matcher(name).matches()) {
      throw new IllegalArgumentException("name: '" + name + "' (expected: a DNS label)");
    }
  }

  public static ServiceKey of(String namespace, String name) {
    return new ServiceKey(namespace, name);
  }

  /** {@code name.namespace.svc.cluster.local}. */
  public String fqdn() {
    return name + "." + namespace + "." + DOMAIN_SUFFIX;
  }

  @Override
  public int compareTo(ServiceKey other) {
    int byNamespace = namespace.compareTo(other.namespace);
    return byNamespace != 0 ? byNamespace : name.compareTo(other.name);
  }

  @Override
  public String toString() {
    return namespace + "/" + name;
  }
}
