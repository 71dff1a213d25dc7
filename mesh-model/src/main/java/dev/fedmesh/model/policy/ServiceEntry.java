package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fedmesh.model.Addresses;
import dev.fedmesh.model.Cidr;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceKey;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Istio's {@code ServiceEntry}: hosts outside the mesh's registry (an external API, a database, a
 * VM) that the mesh's callers may reach, with how their endpoints are found ({@code resolution})
 * and whether they take the mesh's mutual TLS ({@code location}).
 *
 * <p>A sidecar tells which host a connection is for by what the connection carries: HTTP by its
 * Host, TLS by its SNI, plain TCP only by its destination address. A TCP port therefore needs
 * {@code addresses} (the VIPs or CIDRs the application connects to), or resolution NONE, where a
 * connection goes on to wherever the application sent it; a TCP port of a NONE entry without
 * addresses takes every intercepted connection to that port number that no service's own chain
 * claims. Every ServiceEntry is visible mesh-wide ({@code exportTo: ["*"]}), so a host and port are
 * declared once in the mesh.
 *
 * @param hosts the hosts, lower case, as written: fully qualified names, or {@code *.suffix} with
 *     resolution NONE
 * @param addresses IP addresses and CIDR ranges the application connects to
 * @param resolution how endpoints are found; NONE when not written
 * @param endpoints the endpoints of STATIC and DNS entries
 * @param subjectAltNames the identities the host's servers present: SPIFFE IDs for MESH_INTERNAL,
 *     certificate names for TLS origination to MESH_EXTERNAL hosts
 */
public record ServiceEntry(
    ObjectMeta metadata,
    List<String> hosts,
    List<String> addresses,
    List<Port> ports,
    Location location,
    Resolution resolution,
    List<WorkloadEntry> endpoints,
    List<String> subjectAltNames)
    implements Policy {

  public ServiceEntry {
    requireNonNull(metadata, "metadata");
    requireNonNull(location, "location");
    requireNonNull(resolution, "resolution");
    hosts = List.copyOf(hosts);
    addresses = List.copyOf(addresses);
    ports = List.copyOf(ports);
    endpoints = List.copyOf(endpoints);
    subjectAltNames = List.copyOf(subjectAltNames);
  }

  @Override
  public ServiceEntry withMetadata(ObjectMeta metadata) {
    return new ServiceEntry(
        metadata, hosts, addresses, ports, location, resolution, endpoints, subjectAltNames);
  }

  @Override
  public PolicyKind kind() {
    return PolicyKind.SERVICE_ENTRY;
  }

  /** Whether the hosts are part of the mesh (mutual TLS by default) or outside it (plain). */
  public enum Location {
    MESH_EXTERNAL,
    MESH_INTERNAL
  }

  /**
   * How the endpoints are found: NONE, none (connections go where the application sent them);
   * STATIC, the endpoints' IP addresses; DNS, every address the endpoints' names (or the host)
   * resolve to; DNS_ROUND_ROBIN, the first address the one name resolves to, per connection.
   */
  public enum Resolution {
    NONE,
    STATIC,
    DNS,
    DNS_ROUND_ROBIN
  }

  /** The protocols fedmesh can tell apart and route on a ServiceEntry's port. */
  public enum PortProtocol {
    HTTP,
    HTTP2,
    GRPC,
    TCP,
    TLS,
    HTTPS;

    /** Whether requests on the port are routed by host and path (VirtualService http rules). */
    public boolean isHttp() {
      return this == HTTP || this == HTTP2 || this == GRPC;
    }

    /** Whether the application speaks TLS itself, so connections are told apart by SNI. */
    public boolean isTls() {
      return this == TLS || this == HTTPS;
    }
  }

  /**
   * One port of every host.
   *
   * @param targetPort the endpoints' port, when it differs from {@code number}
   */
  public record Port(int number, PortProtocol protocol, String name, OptionalInt targetPort) {
    public Port {
      requireNonNull(protocol, "protocol");
      requireNonNull(name, "name");
      requireNonNull(targetPort, "targetPort");
    }
  }

  /**
   * One endpoint, in the shape of Istio's {@code WorkloadEntry}.
   *
   * @param address an IP address, or with DNS resolution a name to resolve
   * @param ports by port name, the endpoint's own port for it
   * @param weight its share among the endpoints, at least 1
   * @param serviceAccount with MESH_INTERNAL, the account whose SPIFFE ID it presents; or empty
   */
  public record WorkloadEntry(
      String address,
      Map<String, Integer> ports,
      Map<String, String> labels,
      Locality locality,
      int weight,
      String serviceAccount) {
    public WorkloadEntry {
      requireNonNull(address, "address");
      requireNonNull(locality, "locality");
      requireNonNull(serviceAccount, "serviceAccount");
      ports = Map.copyOf(ports);
      labels = Map.copyOf(labels);
    }
  }

  /** The port an endpoint takes {@code port}'s traffic on: its own, the target, or the number. */
  public static int targetPort(WorkloadEntry endpoint, Port port) {
    Integer own = endpoint.ports().get(port.name());
    if (own != null) {
      return own;
    }
    return port.targetPort().orElse(port.number());
  }

  /** The port of this number, if the entry declares it. */
  public Optional<Port> port(int number) {
    return ports.stream().filter(p -> p.number() == number).findFirst();
  }

  /** The host this entry declares that is or matches {@code host}: itself, or a wildcard. */
  public Optional<String> declared(String host) {
    if (hosts.contains(host)) {
      return Optional.of(host);
    }
    return hosts.stream()
        .filter(h -> h.startsWith("*.") && Hosts.matches(h, host))
        .max(java.util.Comparator.comparingInt(String::length));
  }

  // ---------------------------------------------------------------------------------------------

  private static final String HOST_EXPECTED =
      "(expected: a fully qualified name such as api.example.com, or *.example.com)";

  static ServiceEntry parse(ObjectMeta metadata, Fields spec) {
    Optional<Resolution> resolution =
        spec.oneOf("resolution", "NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN")
            .map(Resolution::valueOf);
    boolean resolutionValid = resolution.isPresent() || !spec.has("resolution");
    Resolution resolved = resolution.orElse(Resolution.NONE);
    Location location =
        spec.oneOf("location", "MESH_EXTERNAL", "MESH_INTERNAL")
            .map(Location::valueOf)
            .orElse(Location.MESH_EXTERNAL);

    List<String> hosts = hosts(spec, resolutionValid ? Optional.of(resolved) : Optional.empty());
    List<String> addresses = addresses(spec, resolutionValid, resolved);
    List<Port> ports = ports(spec, resolutionValid, resolved);
    List<WorkloadEntry> endpoints = endpoints(spec, resolutionValid, resolved, ports);
    List<String> subjectAltNames = spec.strings("subjectAltNames");
    for (int i = 0; i < subjectAltNames.size(); i++) {
      if (subjectAltNames.get(i).isBlank()) {
        spec.error("subjectAltNames[" + i + "]", "'' (expected: a name or a SPIFFE ID)");
      }
    }
    VirtualService.exportTo(spec);
    spec.unsupported(
        "workloadSelector",
        "endpoints come from the entry's own endpoints; WorkloadEntry is not supported");

    if (resolutionValid && resolved != Resolution.NONE) {
      for (int i = 0; i < ports.size(); i++) {
        Port port = ports.get(i);
        if (port.protocol() == PortProtocol.TCP && addresses.isEmpty()) {
          spec.error(
              "ports[" + i + "].protocol",
              "TCP on an entry without addresses (expected: addresses, or resolution NONE; a TCP"
                  + " port needs addresses or resolution NONE: a plain TCP connection names no"
                  + " host, so the sidecar tells it apart only by its destination address)");
        }
      }
      boolean tcp = ports.stream().anyMatch(p -> p.protocol() == PortProtocol.TCP);
      if (tcp && !addresses.isEmpty() && hosts.size() > 1) {
        spec.error(
            "addresses",
            "serve TCP ports of "
                + hosts.size()
                + " hosts (expected: one host: a TCP connection to these addresses goes to one"
                + " host's endpoints)");
      }
    }
    spec.end();
    return new ServiceEntry(
        metadata, hosts, addresses, ports, location, resolved, endpoints, subjectAltNames);
  }

  /** The hosts; a wildcard only when {@code resolution} is NONE (empty: it is invalid). */
  private static List<String> hosts(Fields spec, Optional<Resolution> resolution) {
    List<String> hosts = new ArrayList<>();
    List<String> written = spec.strings("hosts");
    if (written.isEmpty()) {
      spec.error("hosts", "missing (expected: at least one host)");
    }
    for (int i = 0; i < written.size(); i++) {
      String host = written.get(i).toLowerCase(Locale.ROOT);
      String at = "hosts[" + i + "]";
      boolean wildcard = host.startsWith("*");
      if (!Hosts.valid(host)
          || host.equals("*")
          || (wildcard && !host.startsWith("*."))
          || !host.contains(".")) {
        spec.error(at, "'" + written.get(i) + "' " + HOST_EXPECTED);
      } else if (host.endsWith("." + ServiceKey.DOMAIN_SUFFIX)) {
        spec.error(
            at,
            "'"
                + host
                + "' is a name of the mesh's own services (expected: a host outside "
                + ServiceKey.DOMAIN_SUFFIX
                + "; the mesh finds its services' endpoints itself)");
      } else if (hosts.contains(host)) {
        spec.error(at, "'" + host + "' (expected: each host once)");
      } else if (wildcard && resolution.isPresent() && resolution.get() != Resolution.NONE) {
        spec.error(
            at,
            "'"
                + host
                + "' with resolution "
                + resolution.get()
                + " (expected: a wildcard host only with resolution NONE: a wildcard names no"
                + " endpoint to resolve)");
      } else {
        hosts.add(host);
      }
    }
    return hosts;
  }

  private static List<String> addresses(Fields spec, boolean resolutionValid, Resolution mode) {
    List<String> addresses = new ArrayList<>();
    List<String> written = spec.strings("addresses");
    for (int i = 0; i < written.size(); i++) {
      String address = written.get(i);
      String at = "addresses[" + i + "]";
      if (address.contains("/")) {
        try {
          Cidr.parse(address);
        } catch (IllegalArgumentException e) {
          spec.error(at, e.getMessage());
          continue;
        }
        if (resolutionValid && mode != Resolution.NONE && mode != Resolution.STATIC) {
          spec.error(
              at,
              "'"
                  + address
                  + "' with resolution "
                  + mode
                  + " (expected: CIDR ranges only with resolution NONE or STATIC; one address"
                  + " with DNS)");
          continue;
        }
      } else if (!Addresses.isIpLiteral(address)) {
        spec.error(
            at, "'" + address + "' (expected: an IP address or a CIDR range such as 240.0.0.0/16)");
        continue;
      }
      if (addresses.contains(address)) {
        spec.error(at, "'" + address + "' (expected: each address once)");
      } else {
        addresses.add(address);
      }
    }
    return addresses;
  }

  private static List<Port> ports(Fields spec, boolean resolutionValid, Resolution mode) {
    List<Port> ports = new ArrayList<>();
    List<Fields> written = spec.objects("ports");
    if (written.isEmpty() && !spec.has("ports")) {
      spec.error("ports", "missing (expected: at least one port)");
    }
    Set<Integer> numbers = new HashSet<>();
    Set<String> names = new HashSet<>();
    for (Fields port : written) {
      int number = port.int32("number", 1, 65535).orElse(0);
      if (!port.has("number")) {
        port.error("number", "missing (expected: a port number)");
      } else if (number > 0 && !numbers.add(number)) {
        port.error("number", number + " (expected: each port number once)");
      }
      PortProtocol protocol = protocol(port);
      String name = port.requiredString("name").orElse("");
      if (!name.isEmpty() && !ObjectMeta.DNS_LABEL.matcher(name).matches()) {
        port.error("name", "'" + name + "' (expected: a DNS label such as https or http-8080)");
      } else if (!name.isEmpty() && !names.add(name)) {
        port.error("name", "'" + name + "' (expected: each port name once)");
      }
      OptionalInt targetPort =
          port.int32("targetPort", 1, 65535).map(OptionalInt::of).orElse(OptionalInt.empty());
      if (targetPort.isPresent() && resolutionValid && mode == Resolution.NONE) {
        port.error(
            "targetPort",
            targetPort.getAsInt()
                + " with resolution NONE (expected: none; connections go on to the port the"
                + " application chose)");
      }
      port.end();
      if (number > 0 && protocol != null) {
        ports.add(new Port(number, protocol, name, targetPort));
      }
    }
    return ports;
  }

  private static PortProtocol protocol(Fields port) {
    Optional<String> written = port.requiredString("protocol");
    if (written.isEmpty()) {
      return null;
    }
    String upper = written.get().toUpperCase(Locale.ROOT);
    for (PortProtocol protocol : PortProtocol.values()) {
      if (protocol.name().equals(upper)) {
        return protocol;
      }
    }
    port.error(
        "protocol",
        "'"
            + written.get()
            + "' "
            + (List.of("MONGO", "REDIS", "MYSQL", "UDP", "GRPC-WEB").contains(upper)
                ? "not supported "
                : "")
            + "(expected: HTTP, HTTP2, GRPC, TCP, TLS or HTTPS)");
    return null;
  }

  private static List<WorkloadEntry> endpoints(
      Fields spec, boolean resolutionValid, Resolution mode, List<Port> ports) {
    List<Fields> written = spec.objects("endpoints");
    if (resolutionValid) {
      if (mode == Resolution.NONE && !written.isEmpty()) {
        spec.error(
            "endpoints",
            "set with resolution NONE (expected: none; connections go where the application sent"
                + " them; resolution STATIC or DNS for endpoints of your own)");
        return List.of();
      }
      if (mode == Resolution.STATIC && written.isEmpty()) {
        spec.error(
            "endpoints",
            "missing (expected: at least one endpoint with an IP address for resolution STATIC)");
      }
      if (mode == Resolution.DNS_ROUND_ROBIN && written.size() > 1) {
        spec.error(
            "endpoints",
            written.size()
                + " endpoints (expected: at most one with DNS_ROUND_ROBIN, whose name is"
                + " resolved for each connection; DNS for several)");
      }
    }
    Set<String> portNames = new HashSet<>();
    ports.forEach(p -> portNames.add(p.name()));
    List<WorkloadEntry> endpoints = new ArrayList<>();
    for (Fields endpoint : written) {
      WorkloadEntry parsed = endpoint(endpoint, resolutionValid, mode, portNames);
      if (parsed != null) {
        endpoints.add(parsed);
      }
    }
    return endpoints;
  }

  private static WorkloadEntry endpoint(
      Fields endpoint, boolean resolutionValid, Resolution mode, Set<String> portNames) {
    String address = endpoint.requiredString("address").orElse("");
    if (address.startsWith("unix://")) {
      endpoint.error("address", "'" + address + "' not supported (unix domain sockets)");
    } else if (!address.isEmpty() && !Addresses.isIpLiteral(address)) {
      if (resolutionValid && mode == Resolution.STATIC) {
        endpoint.error(
            "address",
            "'"
                + address
                + "' (expected: an IP address with resolution STATIC; resolution DNS for names)");
      } else if (!Hosts.valid(address) || address.startsWith("*")) {
        endpoint.error(
            "address", "'" + address + "' (expected: an IP address or a host name to resolve)");
      }
    }
    Map<String, Integer> ports = new TreeMap<>();
    Optional<JsonNode> writtenPorts = endpoint.raw("ports");
    if (writtenPorts.isPresent()) {
      if (!writtenPorts.get().isObject()) {
        endpoint.error(
            "ports", Fields.describe(writtenPorts.get()) + " (expected: a map of port numbers)");
      } else {
        for (Iterator<Map.Entry<String, JsonNode>> it = writtenPorts.get().fields();
            it.hasNext(); ) {
          Map.Entry<String, JsonNode> entry = it.next();
          JsonNode value = entry.getValue();
          String at = "ports." + entry.getKey();
          if (!portNames.contains(entry.getKey())) {
            endpoint.error(
                at,
                "no port is named '"
                    + entry.getKey()
                    + "' (expected: one of "
                    + new java.util.TreeSet<>(portNames)
                    + ")");
          } else if (!value.isIntegralNumber()
              || value.longValue() < 1
              || value.longValue() > 65535) {
            endpoint.error(at, Fields.describe(value) + " (expected: a port number 1..65535)");
          } else {
            ports.put(entry.getKey(), value.intValue());
          }
        }
      }
    }
    Map<String, String> labels = endpoint.stringMap("labels");
    Locality locality = locality(endpoint);
    int weight = endpoint.int32("weight", 0, Integer.MAX_VALUE).orElse(0);
    String network = endpoint.string("network").orElse("");
    if (!network.isEmpty()) {
      endpoint.error(
          "network",
          "'"
              + network
              + "' not supported (expected: none; endpoints of other networks are reached through"
              + " mesh clusters' east-west gateways, which serve mesh services only)");
    }
    String serviceAccount = endpoint.string("serviceAccount").orElse("");
    endpoint.end();
    return new WorkloadEntry(address, ports, labels, locality, Math.max(1, weight), serviceAccount);
  }

  /** Istio's {@code region/zone/subzone}; parts may be left out from the right. */
  private static Locality locality(Fields endpoint) {
    Optional<String> written = endpoint.string("locality");
    if (written.isEmpty() || written.get().isEmpty()) {
      return Locality.UNKNOWN;
    }
    String[] parts = written.get().split("/", -1);
    if (parts.length > 3 || parts[0].isEmpty()) {
      endpoint.error(
          "locality",
          "'" + written.get() + "' (expected: region, region/zone or region/zone/subzone)");
      return Locality.UNKNOWN;
    }
    String zone = parts.length > 1 ? parts[1] : "";
    String subzone = parts.length > 2 ? parts[2] : "";
    if (zone.isEmpty() && !subzone.isEmpty()) {
      endpoint.error(
          "locality", "'" + written.get() + "' (expected: a zone when a subzone is given)");
      return Locality.UNKNOWN;
    }
    return new Locality(parts[0], zone, subzone);
  }

  /**
   * Two entries that declare one host and port, or one address and TCP port: both would define the
   * same cluster ({@code outbound|443||api.example.com}) or capture the same connections. Every
   * entry is visible mesh-wide, so this holds across namespaces too. Each is reported on the entry
   * {@code focus} accepts.
   */
  static List<PolicySet.Conflict> conflicts(List<ServiceEntry> entries, Predicate<String> focus) {
    List<PolicySet.Conflict> conflicts = new ArrayList<>();
    Map<String, ServiceEntry> byHostPort = new LinkedHashMap<>();
    Map<String, ServiceEntry> byAddressPort = new LinkedHashMap<>();
    for (ServiceEntry entry : entries) {
      for (Port port : entry.ports()) {
        for (int h = 0; h < entry.hosts().size(); h++) {
          String host = entry.hosts().get(h);
          ServiceEntry other = byHostPort.putIfAbsent(host + ":" + port.number(), entry);
          if (other != null && other != entry) {
            report(
                entry,
                other,
                focus,
                e -> "spec.hosts[" + e.hosts().indexOf(host) + "]",
                "'"
                    + host
                    + "' port "
                    + port.number()
                    + " is already declared by %s (expected: one ServiceEntry per host and port"
                    + " in the mesh; every entry is visible in every namespace, and both would"
                    + " define cluster outbound|"
                    + port.number()
                    + "||"
                    + host
                    + ")",
                conflicts);
          }
        }
        if (port.protocol() != PortProtocol.TCP) {
          continue;
        }
        for (String address : entry.addresses()) {
          ServiceEntry other = byAddressPort.putIfAbsent(address + ":" + port.number(), entry);
          if (other != null && other != entry) {
            report(
                entry,
                other,
                focus,
                e -> "spec.addresses[" + e.addresses().indexOf(address) + "]",
                "'"
                    + address
                    + "' TCP port "
                    + port.number()
                    + " is already declared by %s (expected: each address and TCP port in one"
                    + " ServiceEntry: a connection to it can go to one host only)",
                conflicts);
          }
        }
      }
    }
    return conflicts;
  }

  private static void report(
      ServiceEntry entry,
      ServiceEntry other,
      Predicate<String> focus,
      java.util.function.Function<ServiceEntry, String> path,
      String message,
      List<PolicySet.Conflict> conflicts) {
    ServiceEntry reported = focus.test(entry.id()) ? entry : other;
    ServiceEntry named = reported == entry ? other : entry;
    if (focus.test(reported.id())) {
      conflicts.add(
          new PolicySet.Conflict(
              reported, path.apply(reported), String.format(message, named.id()), false));
    }
  }
}
