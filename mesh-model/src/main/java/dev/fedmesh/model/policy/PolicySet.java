package dev.fedmesh.model.policy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Every policy in force (or about to be), by id, with the lookups config generation needs and the
 * checks that need more than one document: conflicts between policies and routes to missing
 * subsets. Immutable.
 */
public final class PolicySet {
  public static final PolicySet EMPTY = new PolicySet(Map.of());

  /** Istio's root namespace: PeerAuthentication and AuthorizationPolicy there apply mesh-wide. */
  public static final String ROOT_NAMESPACE = "istio-system";

  /**
   * A workload's mutual TLS modes.
   *
   * @param mode STRICT, PERMISSIVE or DISABLE for every port not in {@code ports}
   * @param ports per workload port, its own mode
   */
  public record PeerModes(String mode, Map<Integer, String> ports) {}

  /** A problem that involves other documents, found by {@link #check}. */
  public record Conflict(Policy policy, String path, String message, boolean warning) {}

  private final Map<String, Policy> byId;

  private PolicySet(Map<String, Policy> byId) {
    this.byId = Collections.unmodifiableMap(new TreeMap<>(byId));
  }

  public static PolicySet of(Collection<? extends Policy> policies) {
    Map<String, Policy> byId = new LinkedHashMap<>();
    for (Policy policy : policies) {
      byId.put(policy.id(), policy);
    }
    return new PolicySet(byId);
  }

  /** This set with {@code policies} added or replacing those with the same ids. */
  public PolicySet with(Collection<? extends Policy> policies) {
    Map<String, Policy> copy = new LinkedHashMap<>(byId);
    for (Policy policy : policies) {
      copy.put(policy.id(), policy);
    }
    return new PolicySet(copy);
  }

  /** This set without the policies of these ids. */
  public PolicySet without(Collection<String> ids) {
    Map<String, Policy> copy = new LinkedHashMap<>(byId);
    ids.forEach(copy::remove);
    return new PolicySet(copy);
  }

  public Collection<Policy> all() {
    return byId.values();
  }

  public Optional<Policy> get(String id) {
    return Optional.ofNullable(byId.get(id));
  }

  public boolean isEmpty() {
    return byId.isEmpty();
  }

  public int size() {
    return byId.size();
  }

  public List<VirtualService> virtualServices() {
    return of(VirtualService.class);
  }

  public List<DestinationRule> destinationRules() {
    return of(DestinationRule.class);
  }

  public List<PeerAuthentication> peerAuthentications() {
    return of(PeerAuthentication.class);
  }

  public List<AuthorizationPolicy> authorizationPolicies() {
    return of(AuthorizationPolicy.class);
  }

  public Optional<MeshConfig> meshConfig() {
    return of(MeshConfig.class).stream().findFirst();
  }

  private <T extends Policy> List<T> of(Class<T> type) {
    List<T> result = new ArrayList<>();
    for (Policy policy : byId.values()) {
      if (type.isInstance(policy)) {
        result.add(type.cast(policy));
      }
    }
    return result;
  }

  /**
   * The VirtualService that routes {@code fqdn}: one naming it exactly wins over wildcards, a
   * longer wildcard over a shorter; among equals the oldest by id order (conflicts are refused on
   * apply).
   */
  public Optional<VirtualService> virtualServiceFor(String fqdn) {
    return best(virtualServices(), vs -> vs.hosts(), fqdn);
  }

  /** The DestinationRule for {@code fqdn}, chosen as {@link #virtualServiceFor} chooses. */
  public Optional<DestinationRule> destinationRuleFor(String fqdn) {
    return best(destinationRules(), dr -> List.of(dr.host()), fqdn);
  }

  private static <T extends Policy> Optional<T> best(
      List<T> candidates, java.util.function.Function<T, List<String>> hosts, String fqdn) {
    T best = null;
    int bestScore = -1;
    for (T candidate : candidates) {
      for (String host : hosts.apply(candidate)) {
        if (Hosts.matches(host, fqdn)) {
          int score = host.startsWith("*") ? host.length() : Integer.MAX_VALUE;
          if (score > bestScore) {
            best = candidate;
            bestScore = score;
          }
        }
      }
    }
    return Optional.ofNullable(best);
  }

  /**
   * Conflicts among the policies: two VirtualServices for one host in one namespace, two
   * DestinationRules for one host, and routes naming a subset their host's DestinationRule lacks.
   * With {@code requireDestinationRules}, a route to a subset of a host that has no DestinationRule
   * at all is an error too (the set is everything in force); without, it is not checked (the set is
   * only what one file holds).
   */
  public List<Conflict> check(boolean requireDestinationRules) {
    return check(requireDestinationRules, id -> true);
  }

  /**
   * The conflicts that involve the policies {@code focus} accepts (those being applied), each
   * reported on such a policy: a stored policy's broken route is reported on the applied
   * DestinationRule that breaks it.
   */
  public List<Conflict> check(boolean requireDestinationRules, Predicate<String> focus) {
    List<Conflict> conflicts = new ArrayList<>();
    Map<String, VirtualService> vsByHost = new TreeMap<>();
    for (VirtualService vs : virtualServices()) {
      for (int i = 0; i < vs.hosts().size(); i++) {
        String key = vs.metadata().namespace() + "|" + vs.hosts().get(i);
        VirtualService other = vsByHost.putIfAbsent(key, vs);
        if (other != null) {
          VirtualService reported = focus.test(vs.id()) ? vs : other;
          VirtualService named = reported == vs ? other : vs;
          if (focus.test(reported.id())) {
            int at = reported.hosts().indexOf(vs.hosts().get(i));
            conflicts.add(
                new Conflict(
                    reported,
                    "spec.hosts[" + at + "]",
                    "'"
                        + vs.hosts().get(i)
                        + "' is already routed by "
                        + named.id()
                        + " (expected: one VirtualService per host in a namespace; merge them)",
                    false));
          }
        }
      }
    }
    Map<String, DestinationRule> drByHost = new TreeMap<>();
    for (DestinationRule dr : destinationRules()) {
      DestinationRule other = drByHost.putIfAbsent(dr.host(), dr);
      if (other != null) {
        DestinationRule reported = focus.test(dr.id()) ? dr : other;
        DestinationRule named = reported == dr ? other : dr;
        if (focus.test(reported.id())) {
          conflicts.add(
              new Conflict(
                  reported,
                  "spec.host",
                  "'"
                      + dr.host()
                      + "' already has "
                      + named.id()
                      + " (expected: one DestinationRule per host)",
                  false));
        }
      }
    }
    for (VirtualService vs : virtualServices()) {
      for (int r = 0; r < vs.http().size(); r++) {
        checkSubsets(
            vs,
            "spec.http[" + r + "]",
            vs.http().get(r).route(),
            requireDestinationRules,
            focus,
            conflicts);
      }
      for (int r = 0; r < vs.tcp().size(); r++) {
        checkSubsets(
            vs,
            "spec.tcp[" + r + "]",
            vs.tcp().get(r).route(),
            requireDestinationRules,
            focus,
            conflicts);
      }
    }
    conflicts.sort(
        Comparator.comparing((Conflict c) -> c.policy().id()).thenComparing(Conflict::path));
    return conflicts;
  }

  private void checkSubsets(
      VirtualService vs,
      String path,
      List<VirtualService.Destination> destinations,
      boolean requireDestinationRules,
      Predicate<String> focus,
      List<Conflict> conflicts) {
    for (int d = 0; d < destinations.size(); d++) {
      VirtualService.Destination destination = destinations.get(d);
      if (destination.subset().isEmpty()) {
        continue;
      }
      String at = path + ".route[" + d + "].destination.subset";
      Optional<DestinationRule> rule = destinationRuleFor(destination.host());
      if (rule.isEmpty()) {
        if (requireDestinationRules && focus.test(vs.id())) {
          conflicts.add(
              new Conflict(
                  vs,
                  at,
                  "'"
                      + destination.subset()
                      + "' of "
                      + destination.host()
                      + ", which has no DestinationRule (expected: a DestinationRule defining the subset)",
                  false));
        }
      } else if (rule.get().subset(destination.subset()).isEmpty()) {
        if (focus.test(vs.id())) {
          conflicts.add(
              new Conflict(
                  vs,
                  at,
                  "'"
                      + destination.subset()
                      + "' is not a subset of "
                      + rule.get().id()
                      + " (expected: one of "
                      + rule.get().subsets().stream().map(DestinationRule.Subset::name).toList()
                      + ")",
                  false));
        } else if (focus.test(rule.get().id())) {
          conflicts.add(
              new Conflict(
                  rule.get(),
                  "spec.subsets",
                  "has no subset '"
                      + destination.subset()
                      + "', which "
                      + vs.id()
                      + " "
                      + at
                      + " routes to (expected: keep the subset until no route names it)",
                  false));
        }
      }
    }
  }

  /**
   * Whether any PeerAuthentication or AuthorizationPolicy applies to a workload of {@code
   * namespace} with {@code labels}; without one the sidecar keeps its own defaults.
   */
  public boolean securesWorkload(String namespace, Map<String, String> labels) {
    return peerAuthentications().stream()
            .anyMatch(pa -> applies(pa.metadata(), pa.selector(), namespace, labels))
        || !authorizationFor(namespace, labels).isEmpty();
  }

  /**
   * A workload's effective mTLS modes, as Istio resolves them: its own PeerAuthentication (one with
   * a selector that matches it), else its namespace's (no selector), else the mesh's (root
   * namespace, no selector), else PERMISSIVE; UNSET inherits from the next scope. Port settings
   * come from the workload's own policy. Among several at one scope the oldest by name wins.
   */
  public PeerModes peerModesFor(String namespace, Map<String, String> labels) {
    Optional<PeerAuthentication> workload =
        peerAuthentications().stream()
            .filter(pa -> pa.metadata().namespace().equals(namespace))
            .filter(pa -> !pa.selector().selectsAll() && pa.selector().matches(labels))
            .findFirst();
    Optional<PeerAuthentication> ns =
        peerAuthentications().stream()
            .filter(pa -> pa.metadata().namespace().equals(namespace) && pa.selector().selectsAll())
            .findFirst();
    Optional<PeerAuthentication> mesh =
        peerAuthentications().stream()
            .filter(
                pa ->
                    pa.metadata().namespace().equals(ROOT_NAMESPACE) && pa.selector().selectsAll())
            .findFirst();
    String mode =
        workload
            .flatMap(PeerAuthentication::mode)
            .or(() -> ns.flatMap(PeerAuthentication::mode))
            .or(() -> mesh.flatMap(PeerAuthentication::mode))
            .orElse(PeerAuthentication.PERMISSIVE);
    return new PeerModes(mode, workload.map(PeerAuthentication::portLevelMtls).orElse(Map.of()));
  }

  /** The AuthorizationPolicies that apply to a workload: the mesh's and its namespace's. */
  public List<AuthorizationPolicy> authorizationFor(String namespace, Map<String, String> labels) {
    List<AuthorizationPolicy> result = new ArrayList<>();
    for (AuthorizationPolicy policy : authorizationPolicies()) {
      if (applies(policy.metadata(), policy.selector(), namespace, labels)) {
        result.add(policy);
      }
    }
    return result;
  }

  private static boolean applies(
      ObjectMeta metadata,
      WorkloadSelector selector,
      String namespace,
      Map<String, String> labels) {
    boolean inScope =
        metadata.namespace().equals(namespace) || metadata.namespace().equals(ROOT_NAMESPACE);
    return inScope && selector.matches(labels);
  }

  /** The ids in this set. */
  public Set<String> ids() {
    return byId.keySet();
  }
}
