package dev.fedmesh.proxy.authz;

import java.util.List;

/** What authorization decided for one request or connection. */
public sealed interface Decision {
  /** What LOG (AUDIT) and shadow policies matched, as {@code filter/policy}. */
  List<String> audited();

  /** Let through. */
  record Allowed(List<String> audited) implements Decision {}

  /**
   * Refused by {@code filter} for {@code reason} (the DENY policy that matched, or that no ALLOW
   * policy did).
   */
  record Denied(String filter, String reason, List<String> audited) implements Decision {
    Denied(String filter, String reason) {
      this(filter, reason, List.of());
    }

    @Override
    public String toString() {
      return filter + ": " + reason;
    }
  }
}
