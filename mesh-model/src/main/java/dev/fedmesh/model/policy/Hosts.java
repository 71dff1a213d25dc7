package dev.fedmesh.model.policy;

import dev.fedmesh.model.ServiceKey;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Host names in policies, resolved as Istio resolves them: a short name ({@code reviews}) is a
 * service in the policy's namespace, {@code reviews.shop} and {@code reviews.shop.svc} are
 * completed to the cluster domain, anything else with a dot is taken as a fully qualified name, and
 * {@code *.example.com} (or {@code *}) is a wildcard.
 */
public final class Hosts {
  private static final Pattern HOST =
      Pattern.compile(
          "(\\*|\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*|\\*");

  private Hosts() {}

  /** The fully qualified form of {@code host} written in a policy of {@code namespace}. */
  public static String qualify(String host, String namespace) {
    String lower = host.toLowerCase(Locale.ROOT);
    if (lower.startsWith("*")) {
      return lower;
    }
    String[] labels = lower.split("\\.");
    if (labels.length == 1) {
      return lower + "." + namespace + "." + ServiceKey.DOMAIN_SUFFIX;
    }
    if (labels.length == 2) {
      return lower + "." + ServiceKey.DOMAIN_SUFFIX;
    }
    if (labels.length == 3 && labels[2].equals("svc")) {
      return lower + ".cluster.local";
    }
    return lower;
  }

  /**
   * The cluster-local name {@link #qualify} makes of a two-label name such as {@code httpbin.org}
   * (read as service {@code httpbin} of namespace {@code org}): policies naming a ServiceEntry host
   * of two labels are stored under it. Empty for any other host.
   */
  public static Optional<String> completed(String host) {
    if (host.startsWith("*") || host.split("\\.", -1).length != 2) {
      return Optional.empty();
    }
    return Optional.of(host + "." + ServiceKey.DOMAIN_SUFFIX);
  }

  /** The two-label name {@code fqdn} was {@link #completed} from, if it is such a name. */
  public static Optional<String> written(String fqdn) {
    String suffix = "." + ServiceKey.DOMAIN_SUFFIX;
    if (!fqdn.endsWith(suffix)) {
      return Optional.empty();
    }
    String name = fqdn.substring(0, fqdn.length() - suffix.length());
    return name.split("\\.", -1).length == 2 ? Optional.of(name) : Optional.empty();
  }

  /** Whether {@code host} is a syntactically valid policy host. */
  static boolean valid(String host) {
    return host.length() <= 253 && HOST.matcher(host.toLowerCase(Locale.ROOT)).matches();
  }

  /** Whether the qualified host pattern matches a mesh name. */
  public static boolean matches(String pattern, String fqdn) {
    if (pattern.equals("*")) {
      return true;
    }
    if (pattern.startsWith("*.")) {
      return fqdn.endsWith(pattern.substring(1));
    }
    return pattern.equals(fqdn);
  }

  /** The mesh service a qualified host names, when it is a cluster-local service name. */
  public static Optional<ServiceKey> service(String fqdn) {
    String suffix = "." + ServiceKey.DOMAIN_SUFFIX;
    if (!fqdn.endsWith(suffix)) {
      return Optional.empty();
    }
    String[] parts = fqdn.substring(0, fqdn.length() - suffix.length()).split("\\.");
    if (parts.length != 2) {
      return Optional.empty();
    }
    try {
      return Optional.of(ServiceKey.of(parts[1], parts[0]));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** Reads a host field: present, valid, then qualified in {@code namespace}. */
  static Optional<String> read(Fields fields, String field, String namespace) {
    Optional<String> host = fields.requiredString(field);
    if (host.isPresent() && !valid(host.get())) {
      fields.error(
          field,
          "'"
              + host.get()
              + "' (expected: a host name such as reviews, reviews.shop.svc.cluster.local or *.example.com)");
      return Optional.empty();
    }
    return host.map(h -> qualify(h, namespace));
  }
}
