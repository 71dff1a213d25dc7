package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * A SPIFFE ID, {@code spiffe://<trust-domain><path>}. Workloads have a path ({@code
 * /ns/<ns>/sa/<sa>}); a trust domain's own ID, carried by CA certificates, has none.
 */
public record SpiffeId(TrustDomain trustDomain, String path) {
  private static final String SCHEME = "spiffe://";
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");

  public SpiffeId {
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(path, "path");
    String problem = pathProblem(path);
    if (problem != null) {
      throw new IllegalArgumentException(
          "spiffeId: '" + SCHEME + trustDomain.name() + path + "' (" + problem + ")");
    }
  }

  /** The workload ID {@code spiffe://<td>/ns/<namespace>/sa/<serviceAccount>}. */
  public static SpiffeId of(TrustDomain trustDomain, CallerIdentity caller) {
    requireNonNull(caller, "caller");
    return new SpiffeId(
        trustDomain, "/ns/" + caller.namespace() + "/sa/" + caller.serviceAccount());
  }

  /**
   * Parses a SPIFFE ID as the SPIFFE standard writes it: lower-case scheme and trust domain, path
   * segments of letters, digits, '.', '-' and '_', no query, fragment, port or user info.
   */
  public static SpiffeId parse(String uri) {
    requireNonNull(uri, "uri");
    if (!uri.startsWith(SCHEME)) {
      throw new IllegalArgumentException(
          "spiffeId: '" + uri + "' (expected: a URI starting with spiffe://)");
    }
    String rest = uri.substring(SCHEME.length());
    int slash = rest.indexOf('/');
    String domain = slash < 0 ? rest : rest.substring(0, slash);
    String path = slash < 0 ? "" : rest.substring(slash);
    TrustDomain trustDomain;
    try {
      trustDomain = TrustDomain.of(domain);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "spiffeId: '"
              + uri
              + "' (expected: a trust domain of lower-case letters, digits, '.', '-' or '_')",
          e);
    }
    return new SpiffeId(trustDomain, path);
  }

  /** Whether this ID names a workload (has a path) rather than a trust domain. */
  public boolean hasPath() {
    return !path.isEmpty();
  }

  /** The URI form, {@code spiffe://<td><path>}. */
  public String uri() {
    return SCHEME + trustDomain.name() + path;
  }

  @Override
  public String toString() {
    return uri();
  }

  private static String pathProblem(String path) {
    if (path.isEmpty()) {
      return null;
    }
    if (!path.startsWith("/")) {
      return "expected: a path starting with '/'";
    }
    if (path.endsWith("/")) {
      return "expected: no trailing '/'";
    }
    for (String segment : path.substring(1).split("/", -1)) {
      if (segment.isEmpty()) {
        return "expected: no empty path segment";
      }
      if (segment.equals(".") || segment.equals("..")) {
        return "expected: no '.' or '..' path segment";
      }
      if (!SEGMENT.matcher(segment).matches()) {
        return "expected: path segments of letters, digits, '.', '-' or '_'";
      }
    }
    return null;
  }
}
