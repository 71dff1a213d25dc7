package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import java.util.Map;
import java.util.regex.Pattern;

/**
 * A policy's identity and bookkeeping, as Kubernetes' {@code metadata} holds it.
 *
 * @param name the policy's name, a DNS subdomain
 * @param namespace its namespace; empty for mesh-wide kinds
 * @param resourceVersion the store revision it was last written at; empty before it is stored
 * @param generation counts the changes of its spec, from 1
 * @param labels its labels
 */
public record ObjectMeta(
    String name,
    String namespace,
    String resourceVersion,
    long generation,
    Map<String, String> labels) {
  static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  /** The namespace a namespaced document without one is applied to, as kubectl does. */
  public static final String DEFAULT_NAMESPACE = "default";

  public ObjectMeta {
    requireNonNull(name, "name");
    requireNonNull(namespace, "namespace");
    requireNonNull(resourceVersion, "resourceVersion");
    labels = Map.copyOf(labels);
  }

  /** The same metadata at a stored revision and generation. */
  public ObjectMeta stored(String resourceVersion, long generation) {
    return new ObjectMeta(name, namespace, resourceVersion, generation, labels);
  }

  static ObjectMeta parse(Fields metadata, PolicyKind kind) {
    String name = metadata.requiredString("name").orElse("");
    if (!name.isEmpty() && (name.length() > 253 || !DNS_SUBDOMAIN.matcher(name).matches())) {
      metadata.error(
          "name",
          "'" + name + "' (expected: a DNS subdomain: lower case letters, digits, '-' and '.')");
    }
    String namespace = metadata.string("namespace").orElse("");
    if (kind.namespaced()) {
      if (namespace.isEmpty()) {
        namespace = DEFAULT_NAMESPACE;
      } else if (!DNS_LABEL.matcher(namespace).matches()) {
        metadata.error("namespace", "'" + namespace + "' (expected: a DNS label)");
      }
    } else if (!namespace.isEmpty()) {
      metadata.error(
          "namespace", "'" + namespace + "' (expected: none; " + kind.kind() + " is mesh-wide)");
    }
    String resourceVersion = metadata.string("resourceVersion").orElse("");
    if (!resourceVersion.isEmpty() && !resourceVersion.chars().allMatch(Character::isDigit)) {
      metadata.error(
          "resourceVersion",
          "'" + resourceVersion + "' (expected: a number, as 'fedmesh get' prints it)");
    }
    long generation = metadata.integer("generation", 0, Long.MAX_VALUE).orElse(0L);
    Map<String, String> labels = metadata.stringMap("labels");
    // What Kubernetes tools write into metadata and fedmesh has no use for.
    metadata.ignored(
        "annotations",
        "uid",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "finalizers",
        "ownerReferences");
    metadata.end();
    return new ObjectMeta(name, namespace, resourceVersion, generation, labels);
  }
}
