package dev.fedmesh.model.policy;

import dev.fedmesh.model.ServiceKey;
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

  /** By host, the routes of the Gateway API routes, or else the TrafficSplit, naming it. */
  private final Map<String, VirtualService> converted;

  /** The policies of each kind, in id order: config generation asks for them per service. */
  private final Map<Class<?>, List<Policy>> byType = new java.util.HashMap<>();

  /** VirtualServices and DestinationRules by each exact host they name, in id order. */
  private final Map<String, List<VirtualService>> virtualServicesByHost = new java.util.HashMap<>();

  private final Map<String, List<DestinationRule>> destinationRulesByHost =
      new java.util.HashMap<>();

  private final Map<String, List<ServiceEntry>> serviceEntriesByHost = new java.util.HashMap<>();

  private PolicySet(Map<String, Policy> byId) {
    this.byId = Collections.unmodifiableMap(new TreeMap<>(byId));
    this.converted = converted(this.byId.values());
    for (Policy policy : this.byId.values()) {
      byType.computeIfAbsent(policy.getClass(), type -> new ArrayList<>()).add(policy);
      if (policy instanceof VirtualService vs) {
        for (String host : vs.hosts()) {
          virtualServicesByHost.computeIfAbsent(host, h -> new ArrayList<>()).add(vs);
        }
      } else if (policy instanceof DestinationRule dr) {
        destinationRulesByHost.computeIfAbsent(dr.host(), h -> new ArrayList<>()).add(dr);
      } else if (policy instanceof ServiceEntry se) {
        se.hosts()
            .forEach(h -> serviceEntriesByHost.computeIfAbsent(h, k -> new ArrayList<>()).add(se));
      }
    }
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

  /** The HTTPRoutes and GRPCRoutes. */
  public List<GatewayRoute> gatewayRoutes() {
    return of(GatewayRoute.class);
  }

  public List<TrafficSplit> trafficSplits() {
    return of(TrafficSplit.class);
  }

  public List<ServiceExport> serviceExports() {
    return of(ServiceExport.class);
  }

  /** Whether a ServiceExport policy exports {@code service} in every cluster. */
  public boolean exports(ServiceKey service) {
    return byId.containsKey(
        PolicyKind.SERVICE_EXPORT.kind() + "/" + service.namespace() + "/" + service.name());
  }

  public List<ServiceEntry> serviceEntries() {
    return of(ServiceEntry.class);
  }

  /**
   * The ServiceEntry that declares {@code host}, chosen as {@link #virtualServiceFor} chooses; a
   * host a policy completed to the cluster domain ({@code httpbin.org.svc.cluster.local}, see
   * {@link Hosts#written}) finds the entry of the name as written.
   */
  public Optional<ServiceEntry> serviceEntryFor(String host) {
    return best(serviceEntriesByHost, serviceEntries(), ServiceEntry::hosts, host)
        .or(
            () ->
                Hosts.written(host)
                    .flatMap(
                        h -> best(serviceEntriesByHost, serviceEntries(), ServiceEntry::hosts, h)));
  }

  public Optional<MeshConfig> meshConfig() {
    return of(MeshConfig.class).stream().findFirst();
  }

  @SuppressWarnings("unchecked")
  private <T extends Policy> List<T> of(Class<T> type) {
    return List.copyOf((List<T>) byType.getOrDefault(type, List.of()));
  }

  /**
   * The VirtualService that routes {@code fqdn}: one naming it exactly wins over wildcards, a
   * longer wildcard over a shorter; among equals the oldest by id order (conflicts are refused on
   * apply).
   *
   * <p>Without one, the rules of the HTTPRoutes and GRPCRoutes whose parent is {@code fqdn}, merged
   * as Gateway API merges them; without those, the rule of the TrafficSplit whose root is {@code
   * fqdn}. A VirtualService takes precedence over both, and Gateway API routes over a TrafficSplit:
   * one kind of document routes a host, and {@link #check} warns of the others. (Istio lets Gateway
   * API routes win only on gateways it manages from them; fedmesh has no such gateways.) The
   * VirtualService made of converted rules carries the first document's metadata.
   */
  public Optional<VirtualService> virtualServiceFor(String fqdn) {
    return best(virtualServicesByHost, virtualServices(), vs -> vs.hosts(), fqdn)
        .or(() -> Optional.ofNullable(converted.get(fqdn)))
        .or(() -> Hosts.completed(fqdn).flatMap(this::virtualServiceFor));
  }

  private static Map<String, VirtualService> converted(Collection<Policy> policies) {
    Map<String, List<GatewayRoute>> routesByHost = new TreeMap<>();
    List<GatewayRoute> routes = new ArrayList<>();
    List<TrafficSplit> splits = new ArrayList<>();
    for (Policy policy : policies) {
      if (policy instanceof GatewayRoute route) {
        routes.add(route);
      } else if (policy instanceof TrafficSplit split) {
        splits.add(split);
      }
    }
    // Gateway API breaks ties by age, then by namespace/name; fedmesh keeps no creation time.
    routes.sort(
        Comparator.comparing((GatewayRoute r) -> r.metadata().namespace())
            .thenComparing(r -> r.metadata().name())
            .thenComparing(r -> r.kind().kind()));
    for (GatewayRoute route : routes) {
      for (GatewayRoute.Parent parent : route.parents()) {
        List<GatewayRoute> forHost =
            routesByHost.computeIfAbsent(parent.host(), host -> new ArrayList<>());
        if (!forHost.contains(route)) {
          forHost.add(route);
        }
      }
    }
    Map<String, VirtualService> result = new TreeMap<>();
    routesByHost.forEach((host, forHost) -> result.put(host, merged(host, forHost)));
    for (TrafficSplit split : splits) {
      result.putIfAbsent(
          split.service(),
          new VirtualService(
              split.metadata(), List.of(split.service()), List.of(split.route()), List.of()));
    }
    return result;
  }

  /** Every match of every route of {@code host}, most specific first, ties in written order. */
  private static VirtualService merged(String host, List<GatewayRoute> routes) {
    record Entry(GatewayRoute route, GatewayRoute.MatchRoutes match) {}
    List<Entry> entries = new ArrayList<>();
    for (GatewayRoute route : routes) {
      route.matches().forEach(match -> entries.add(new Entry(route, match)));
    }
    entries.sort(Comparator.comparing((Entry e) -> e.match().precedence())); // stable
    List<VirtualService.HttpRoute> http = new ArrayList<>();
    for (Entry entry : entries) {
      Set<Integer> ports = entry.route().portsOf(host);
      for (VirtualService.HttpRoute rule : entry.match().routes()) {
        http.add(ports.isEmpty() ? rule : onPorts(rule, ports));
      }
    }
    return new VirtualService(routes.get(0).metadata(), List.of(host), http, List.of());
  }

  /** A rule limited to some ports of its host: each match once per port. */
  private static VirtualService.HttpRoute onPorts(
      VirtualService.HttpRoute rule, Set<Integer> ports) {
    List<VirtualService.HttpMatch> matches = new ArrayList<>();
    for (VirtualService.HttpMatch m : rule.match()) {
      for (int port : ports) {
        matches.add(
            new VirtualService.HttpMatch(
                m.name(),
                m.uri(),
                m.method(),
                m.authority(),
                m.scheme(),
                m.headers(),
                m.withoutHeaders(),
                m.queryParams(),
                java.util.OptionalInt.of(port),
                m.ignoreUriCase(),
                m.sourceLabels(),
                m.sourceNamespace()));
      }
    }
    return new VirtualService.HttpRoute(
        rule.name(),
        matches,
        rule.route(),
        rule.retries(),
        rule.timeout(),
        rule.fault(),
        rule.rewrite(),
        rule.redirect(),
        rule.headers(),
        rule.tryTimeout());
  }

  /** The DestinationRule for {@code fqdn}, chosen as {@link #virtualServiceFor} chooses. */
  public Optional<DestinationRule> destinationRuleFor(String fqdn) {
    return best(destinationRulesByHost, destinationRules(), dr -> List.of(dr.host()), fqdn)
        .or(() -> Hosts.completed(fqdn).flatMap(this::destinationRuleFor));
  }

  /** The exact match first (by the index); else the longest wildcard among all candidates. */
  private static <T extends Policy> Optional<T> best(
      Map<String, List<T>> byExactHost,
      List<T> candidates,
      java.util.function.Function<T, List<String>> hosts,
      String fqdn) {
    List<T> exact = byExactHost.get(fqdn);
    if (exact != null) {
      return Optional.of(exact.get(0));
    }
    T best = null;
    int bestScore = -1;
    for (T candidate : candidates) {
      for (String host : hosts.apply(candidate)) {
        if (host.startsWith("*") && Hosts.matches(host, fqdn)) {
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
    checkPrecedence(focus, conflicts);
    conflicts.addAll(ServiceEntry.conflicts(serviceEntries(), focus));
    conflicts.sort(
        Comparator.comparing((Conflict c) -> c.policy().id()).thenComparing(Conflict::path));
    return conflicts;
  }

  /**
   * Warnings for documents that route a host another kind of document already routes, as {@link
   * #virtualServiceFor} chooses, and errors for two TrafficSplits of one root Service.
   */
  private void checkPrecedence(Predicate<String> focus, List<Conflict> conflicts) {
    for (GatewayRoute route : gatewayRoutes()) {
      for (int i = 0; i < route.parents().size(); i++) {
        String host = route.parents().get(i).host();
        Optional<VirtualService> vs =
            best(virtualServicesByHost, virtualServices(), VirtualService::hosts, host);
        if (vs.isPresent()) {
          shadowed(route, "spec.parentRefs[" + i + "]", host, vs.get(), focus, conflicts);
        }
      }
    }
    Map<String, TrafficSplit> splitByHost = new TreeMap<>();
    for (TrafficSplit split : trafficSplits()) {
      String host = split.service();
      Optional<Policy> winner =
          best(virtualServicesByHost, virtualServices(), VirtualService::hosts, host)
              .<Policy>map(vs -> vs)
              .or(
                  () ->
                      gatewayRoutes().stream()
                          .filter(route -> route.routes(host))
                          .<Policy>map(route -> route)
                          .findFirst());
      if (winner.isPresent()) {
        shadowed(split, "spec.service", host, winner.get(), focus, conflicts);
      }
      TrafficSplit other = splitByHost.putIfAbsent(host, split);
      if (other != null) {
        TrafficSplit reported = focus.test(split.id()) ? split : other;
        TrafficSplit named = reported == split ? other : split;
        if (focus.test(reported.id())) {
          conflicts.add(
              new Conflict(
                  reported,
                  "spec.service",
                  "'"
                      + host
                      + "' is already split by "
                      + named.id()
                      + " (expected: one TrafficSplit per root Service; merge them)",
                  false));
        }
      }
    }
  }

  /** A warning that {@code winner} takes precedence over {@code loser} for {@code host}. */
  private static void shadowed(
      Policy loser,
      String path,
      String host,
      Policy winner,
      Predicate<String> focus,
      List<Conflict> conflicts) {
    if (focus.test(loser.id())) {
      conflicts.add(
          new Conflict(
              loser,
              path,
              "'"
                  + host
                  + "' is routed by "
                  + winner.id()
                  + ", which takes precedence: this "
                  + loser.kind().kind()
                  + " has no effect on it (expected: one kind of route per host; delete one)",
              true));
    } else if (focus.test(winner.id())) {
      String at = "";
      if (winner instanceof VirtualService vs) {
        for (int h = 0; h < vs.hosts().size(); h++) {
          if (Hosts.matches(vs.hosts().get(h), host)) {
            at = "spec.hosts[" + h + "]";
            break;
          }
        }
      } else if (winner instanceof GatewayRoute route) {
        for (int p = 0; p < route.parents().size(); p++) {
          if (route.parents().get(p).host().equals(host)) {
            at = "spec.parentRefs[" + p + "]";
            break;
          }
        }
      }
      conflicts.add(
          new Conflict(
              winner,
              at,
              "takes precedence over "
                  + loser.id()
                  + " for '"
                  + host
                  + "', which then has no effect (expected: one kind of route per host; delete"
                  + " one)",
              true));
    }
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
