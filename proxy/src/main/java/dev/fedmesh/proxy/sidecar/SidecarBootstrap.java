package dev.fedmesh.proxy.sidecar;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.fedmesh.proxy.dns.ResolvConf;
import dev.fedmesh.proxy.http.InboundPort;
import dev.fedmesh.proxy.intercept.InterceptionMode;
import dev.fedmesh.proxy.xds.XdsClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Everything a sidecar needs to start: who it is (node), where its controllers and its cluster's CA
 * are, and where to listen. Read from a YAML file for the standalone proxy, or built in code when a
 * process hosts many sidecars (the lab).
 *
 * <pre>
 * node:
 *   id: frontend-1.east          # unique per proxy
 *   cluster: east                # member cluster
 *   network: east
 *   region: us-east
 *   zone: us-east-a
 *   namespace: shop
 *   serviceAccount: frontend
 *   labels: {app: frontend, version: v1}
 * controllers: ["127.0.0.1:15010"]
 * ca:                            # optional: without it the sidecar has no identity, and speaks
 *                                # plaintext to the controllers; with it, mutual TLS (its SVID)
 *   address: 127.1.0.1:15012
 *   tokenFile: /var/run/secrets/fedmesh/token
 *   rootsFile: /etc/fedmesh/root-cert.pem
 *   ttl: 24h                     # optional; the CA's default otherwise
 * xds: sotw                     # or delta (incremental xDS)
 * insecureControllers: false    # true: plaintext xDS even with a ca (local experiments only)
 * protocolDetectionTimeout: 5s  # a connection silent this long after connecting is closed
 * outbound: 127.0.0.1:15001
 * admin: 127.0.0.1:15000
 * stats: 10.0.0.5:15090        # optional: /stats/prometheus alone (Istio's stats port)
 * interception: NONE            # NONE | REDIRECT | TPROXY: how the pod's traffic reaches the
 *                               # sidecar (docs/ARCHITECTURE.md, Transparent interception); then the
 *                               # inbound ports are served on one capture listener:
 * inboundCapture: 0.0.0.0:15006 # (the default) picking the port by original destination
 * dnsCapture: false             # true: the pod's DNS is redirected here too (the injector's
 *                               # default with interception); the controller then sends the
 *                               # DNS listener (127.0.0.1:15053)
 * resolvConf: /etc/resolv.conf  # the pod's original resolvers: where the DNS listener forwards
 *                               # names outside the mesh when the controller names no resolvers
 * inbound:
 *   - listen: 10.0.0.5:8080
 *     app: 127.0.0.1:8080
 *     protocol: http             # http | http2 | tcp
 *     mode: STRICT               # STRICT | PERMISSIVE
 * </pre>
 */
public record SidecarBootstrap(
    NodeIdentity node,
    List<String> controllers,
    Optional<Ca> ca,
    Optional<InetSocketAddress> outbound,
    Optional<InetSocketAddress> admin,
    List<InboundPort> inbound,
    XdsClient.Protocol xdsProtocol,
    boolean insecureControllers,
    Duration protocolDetectionTimeout,
    Interception interception,
    Optional<InetSocketAddress> stats,
    Path resolvConf) {

  /** How long a connection may stay silent before its first bytes say what it speaks. */
  public static final Duration DEFAULT_PROTOCOL_DETECTION_TIMEOUT = Duration.ofSeconds(5);

  /**
   * How the pod's traffic reaches the sidecar, where the inbound capture listener binds when it is
   * intercepted, and whether the pod's DNS queries are redirected to the sidecar too ({@code
   * dnsCapture}: the sidecar then asks the controller for its DNS listener, node metadata {@code
   * DNS_CAPTURE}).
   */
  public record Interception(
      InterceptionMode mode, InetSocketAddress inboundCapture, boolean dnsCapture) {
    public static final InetSocketAddress DEFAULT_INBOUND_CAPTURE =
        new InetSocketAddress("0.0.0.0", 15006);
    public static final Interception NONE =
        new Interception(InterceptionMode.NONE, DEFAULT_INBOUND_CAPTURE, false);

    public Interception {
      requireNonNull(mode, "mode");
      requireNonNull(inboundCapture, "inboundCapture");
      if (dnsCapture && mode == InterceptionMode.NONE) {
        throw new IllegalArgumentException(
            "dnsCapture: true (expected: only with interception REDIRECT or TPROXY, whose rules"
                + " redirect the pod's DNS to the sidecar)");
      }
    }

    /** Interception without DNS capture. */
    public Interception(InterceptionMode mode, InetSocketAddress inboundCapture) {
      this(mode, inboundCapture, false);
    }
  }

  /** A bootstrap whose DNS listener forwards to the resolvers of {@code /etc/resolv.conf}. */
  public SidecarBootstrap(
      NodeIdentity node,
      List<String> controllers,
      Optional<Ca> ca,
      Optional<InetSocketAddress> outbound,
      Optional<InetSocketAddress> admin,
      List<InboundPort> inbound,
      XdsClient.Protocol xdsProtocol,
      boolean insecureControllers,
      Duration protocolDetectionTimeout,
      Interception interception,
      Optional<InetSocketAddress> stats) {
    this(
        node,
        controllers,
        ca,
        outbound,
        admin,
        inbound,
        xdsProtocol,
        insecureControllers,
        protocolDetectionTimeout,
        interception,
        stats,
        ResolvConf.DEFAULT_PATH);
  }

  /** A bootstrap without interception (the explicit-proxy mode). */
  public SidecarBootstrap(
      NodeIdentity node,
      List<String> controllers,
      Optional<Ca> ca,
      Optional<InetSocketAddress> outbound,
      Optional<InetSocketAddress> admin,
      List<InboundPort> inbound,
      XdsClient.Protocol xdsProtocol,
      boolean insecureControllers,
      Duration protocolDetectionTimeout) {
    this(
        node,
        controllers,
        ca,
        outbound,
        admin,
        inbound,
        xdsProtocol,
        insecureControllers,
        protocolDetectionTimeout,
        Interception.NONE,
        Optional.empty());
  }

  /** A bootstrap without a stats listener of its own (metrics on the admin port only). */
  public SidecarBootstrap(
      NodeIdentity node,
      List<String> controllers,
      Optional<Ca> ca,
      Optional<InetSocketAddress> outbound,
      Optional<InetSocketAddress> admin,
      List<InboundPort> inbound,
      XdsClient.Protocol xdsProtocol,
      boolean insecureControllers,
      Duration protocolDetectionTimeout,
      Interception interception) {
    this(
        node,
        controllers,
        ca,
        outbound,
        admin,
        inbound,
        xdsProtocol,
        insecureControllers,
        protocolDetectionTimeout,
        interception,
        Optional.empty());
  }

  /** A bootstrap with the default protocol detection timeout. */
  public SidecarBootstrap(
      NodeIdentity node,
      List<String> controllers,
      Optional<Ca> ca,
      Optional<InetSocketAddress> outbound,
      Optional<InetSocketAddress> admin,
      List<InboundPort> inbound,
      XdsClient.Protocol xdsProtocol,
      boolean insecureControllers) {
    this(
        node,
        controllers,
        ca,
        outbound,
        admin,
        inbound,
        xdsProtocol,
        insecureControllers,
        DEFAULT_PROTOCOL_DETECTION_TIMEOUT);
  }

  /** Who the proxy is, as the controller groups proxies. */
  public record NodeIdentity(
      String id,
      String cluster,
      String network,
      String region,
      String zone,
      String namespace,
      String serviceAccount,
      Map<String, String> labels) {
    public NodeIdentity {
      requireNonNull(id, "id");
      requireNonNull(cluster, "cluster");
      requireNonNull(network, "network");
      requireNonNull(region, "region");
      requireNonNull(zone, "zone");
      requireNonNull(namespace, "namespace");
      requireNonNull(serviceAccount, "serviceAccount");
      labels = Map.copyOf(labels);
    }
  }

  /**
   * The cluster CA: its gRPC address, the workload's token (read again for every request, so a
   * projected token that is refreshed on disk keeps working), and the trust roots (PEM).
   */
  public record Ca(
      String address, Supplier<String> token, Supplier<String> rootsPem, Duration ttl) {
    public Ca {
      requireNonNull(address, "address");
      requireNonNull(token, "token");
      requireNonNull(rootsPem, "rootsPem");
      requireNonNull(ttl, "ttl");
    }
  }

  /** A bootstrap on state-of-the-world xDS. */
  public SidecarBootstrap(
      NodeIdentity node,
      List<String> controllers,
      Optional<Ca> ca,
      Optional<InetSocketAddress> outbound,
      Optional<InetSocketAddress> admin,
      List<InboundPort> inbound) {
    this(
        node,
        controllers,
        ca,
        outbound,
        admin,
        inbound,
        XdsClient.Protocol.STATE_OF_THE_WORLD,
        false);
  }

  /**
   * Whether the xDS connections are mutual TLS: the sidecar has a CA to get its certificate from,
   * and plaintext was not asked for.
   */
  public boolean controllersOverTls() {
    return ca.isPresent() && !insecureControllers;
  }

  public SidecarBootstrap {
    requireNonNull(resolvConf, "resolvConf");
    requireNonNull(interception, "interception");
    requireNonNull(stats, "stats");
    requireNonNull(xdsProtocol, "xdsProtocol");
    requireNonNull(protocolDetectionTimeout, "protocolDetectionTimeout");
    if (protocolDetectionTimeout.isNegative() || protocolDetectionTimeout.isZero()) {
      throw new IllegalArgumentException(
          "protocolDetectionTimeout: " + protocolDetectionTimeout + " (expected: > 0)");
    }
    requireNonNull(node, "node");
    controllers = List.copyOf(controllers);
    requireNonNull(ca, "ca");
    requireNonNull(outbound, "outbound");
    requireNonNull(admin, "admin");
    inbound = List.copyOf(inbound);
    if (controllers.isEmpty()) {
      throw new IllegalArgumentException("controllers: empty (expected: at least one host:port)");
    }
  }

  /** Reads and checks a bootstrap file; every problem is named with its field. */
  public static SidecarBootstrap load(Path file) throws IOException {
    ObjectMapper yaml =
        new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    Doc doc;
    try {
      doc = yaml.readValue(Files.readString(file), Doc.class);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IllegalArgumentException(file + ": " + e.getOriginalMessage(), e);
    }
    if (doc == null) {
      throw new IllegalArgumentException(file + ": empty (expected: a sidecar bootstrap)");
    }
    return from(doc, file, file.toString());
  }

  /**
   * The bootstrap of an injected sidecar, from the environment the injector gives its container
   * ({@code FEDMESH_*}: who the pod is from the downward API, where the controller and the
   * cluster's CA are, the interception mode and ports, and the application's ports as {@code
   * FEDMESH_INBOUND_PORTS}, e.g. {@code 8080/http,9000/tcp}). Every problem is named with its
   * variable.
   */
  public static SidecarBootstrap fromEnvironment(Map<String, String> env) {
    List<String> problems = new ArrayList<>();
    java.util.function.Function<String, String> required =
        name -> {
          String value = env.get(name);
          if (value == null || value.isBlank()) {
            problems.add(name + ": missing (expected: set by the sidecar injector)");
            return null;
          }
          return value;
        };
    Doc doc = new Doc();
    doc.node = new DocNode();
    String pod = required.apply("FEDMESH_POD_NAME");
    doc.node.namespace = required.apply("FEDMESH_POD_NAMESPACE");
    doc.node.id = pod == null || doc.node.namespace == null ? null : pod + "." + doc.node.namespace;
    doc.node.cluster = required.apply("FEDMESH_CLUSTER");
    doc.node.network = env.get("FEDMESH_NETWORK");
    doc.node.region = env.get("FEDMESH_REGION");
    doc.node.zone = env.get("FEDMESH_ZONE");
    doc.node.serviceAccount = env.get("FEDMESH_SERVICE_ACCOUNT");
    String labels = env.get("FEDMESH_LABELS_FILE");
    if (labels != null && !labels.isBlank()) {
      try {
        doc.node.labels = downwardApiLabels(Files.readString(Path.of(labels)));
      } catch (IOException e) {
        problems.add("FEDMESH_LABELS_FILE: " + labels + " cannot be read (" + e.getMessage() + ")");
      }
    }
    String controller = required.apply("FEDMESH_CONTROLLER");
    doc.controllers = controller == null ? null : List.of(controller.split(","));
    String caAddress = env.get("FEDMESH_CA_ADDRESS");
    if (caAddress != null && !caAddress.isBlank()) {
      doc.ca = new DocCa();
      doc.ca.address = caAddress;
      doc.ca.tokenFile = required.apply("FEDMESH_CA_TOKEN");
      doc.ca.rootsFile = required.apply("FEDMESH_CA_ROOTS");
    }
    String outbound = env.getOrDefault("FEDMESH_OUTBOUND_PORT", "15001");
    doc.outbound = "127.0.0.1:" + outbound;
    // kubelet probes /ready on the pod's address; the capture rules leave 15000 and 15090 alone.
    doc.admin = "0.0.0.0:" + env.getOrDefault("FEDMESH_ADMIN_PORT", "15000");
    doc.stats = "0.0.0.0:" + env.getOrDefault("FEDMESH_STATS_PORT", "15090");
    doc.interception = env.getOrDefault("FEDMESH_INTERCEPTION_MODE", "REDIRECT");
    doc.inboundCapture = "0.0.0.0:" + env.getOrDefault("FEDMESH_INBOUND_PORT", "15006");
    String dns = env.getOrDefault("FEDMESH_DNS_CAPTURE", "false");
    if (!dns.equals("true") && !dns.equals("false")) {
      problems.add("FEDMESH_DNS_CAPTURE: '" + dns + "' (expected: true or false)");
    }
    doc.dnsCapture = dns.equals("true");
    doc.inbound = new ArrayList<>();
    String ports = env.getOrDefault("FEDMESH_INBOUND_PORTS", "");
    for (String entry : ports.split(",")) {
      if (entry.isBlank()) {
        continue;
      }
      String[] parts = entry.trim().split("/", -1);
      DocInbound in = new DocInbound();
      in.listen = "0.0.0.0:" + parts[0];
      in.app = "127.0.0.1:" + parts[0];
      in.protocol = parts.length > 1 ? parts[1] : "tcp";
      // Istio's default: mTLS and plaintext both accepted until a PeerAuthentication says STRICT.
      in.mode = "PERMISSIVE";
      if (parts.length > 2) {
        problems.add(
            "FEDMESH_INBOUND_PORTS: '" + entry + "' (expected: port/protocol, as 8080/http)");
        continue;
      }
      doc.inbound.add(in);
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("environment: " + String.join("; ", problems));
    }
    return from(doc, Path.of("/"), "environment");
  }

  /** Labels as the downward API writes {@code metadata.labels}: {@code key="value"} per line. */
  static LinkedHashMap<String, String> downwardApiLabels(String text) {
    LinkedHashMap<String, String> labels = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      int equals = line.indexOf('=');
      if (equals <= 0) {
        continue;
      }
      String value = line.substring(equals + 1).trim();
      if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
        value = value.substring(1, value.length() - 1).replace("\\\"", "\"");
      }
      labels.put(line.substring(0, equals).trim(), value);
    }
    return labels;
  }

  private static SidecarBootstrap from(Doc doc, Path file, String source) {
    List<String> problems = new ArrayList<>();
    DocNode n = doc.node == null ? new DocNode() : doc.node;
    require(problems, "node.id", n.id);
    require(problems, "node.cluster", n.cluster);
    require(problems, "node.namespace", n.namespace);
    if (doc.controllers == null || doc.controllers.isEmpty()) {
      problems.add("controllers: missing (expected: a list of host:port)");
    }
    Optional<Ca> ca = Optional.empty();
    if (doc.ca != null) {
      require(problems, "ca.address", doc.ca.address);
      require(problems, "ca.tokenFile", doc.ca.tokenFile);
      require(problems, "ca.rootsFile", doc.ca.rootsFile);
      Duration ttl = Duration.ZERO;
      if (doc.ca.ttl != null) {
        try {
          ttl = Duration.parse("PT" + doc.ca.ttl.toUpperCase(Locale.ROOT));
        } catch (RuntimeException e) {
          problems.add("ca.ttl: '" + doc.ca.ttl + "' (expected: a duration such as 24h or 90m)");
        }
      }
      if (doc.ca.address != null && doc.ca.tokenFile != null && doc.ca.rootsFile != null) {
        Path token = file.resolveSibling(doc.ca.tokenFile);
        Path roots = file.resolveSibling(doc.ca.rootsFile);
        ca = Optional.of(new Ca(doc.ca.address, () -> read(token), () -> read(roots), ttl));
      }
    }
    Duration detection = DEFAULT_PROTOCOL_DETECTION_TIMEOUT;
    if (doc.protocolDetectionTimeout != null) {
      try {
        detection = dev.fedmesh.trust.Durations.parse(doc.protocolDetectionTimeout);
      } catch (IllegalArgumentException e) {
        detection = null;
      }
      if (detection == null || detection.isNegative() || detection.isZero()) {
        problems.add(
            "protocolDetectionTimeout: '"
                + doc.protocolDetectionTimeout
                + "' (expected: a duration above zero such as 5s or 500ms)");
        detection = DEFAULT_PROTOCOL_DETECTION_TIMEOUT;
      }
    }
    XdsClient.Protocol xds = XdsClient.Protocol.STATE_OF_THE_WORLD;
    if (doc.xds != null) {
      switch (doc.xds.toLowerCase(Locale.ROOT)) {
        case "sotw" -> xds = XdsClient.Protocol.STATE_OF_THE_WORLD;
        case "delta" -> xds = XdsClient.Protocol.DELTA;
        default -> problems.add("xds: '" + doc.xds + "' (expected: sotw or delta)");
      }
    }
    Optional<InetSocketAddress> outbound = address(problems, "outbound", doc.outbound);
    InterceptionMode interceptionMode = InterceptionMode.NONE;
    if (doc.interception != null) {
      try {
        interceptionMode = InterceptionMode.valueOf(doc.interception.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        problems.add(
            "interception: '" + doc.interception + "' (expected: NONE, REDIRECT or TPROXY)");
      }
    }
    InetSocketAddress inboundCapture =
        address(problems, "inboundCapture", doc.inboundCapture)
            .orElse(Interception.DEFAULT_INBOUND_CAPTURE);
    if (Boolean.TRUE.equals(doc.dnsCapture) && interceptionMode == InterceptionMode.NONE) {
      problems.add(
          "dnsCapture: true (expected: only with interception REDIRECT or TPROXY, whose rules"
              + " redirect the pod's DNS to the sidecar)");
      doc.dnsCapture = false;
    }
    if (interceptionMode != InterceptionMode.NONE && outbound.isEmpty()) {
      problems.add(
          "outbound: missing (expected: host:port, where redirected outbound traffic arrives, when"
              + " interception is "
              + interceptionMode
              + ")");
    }
    Optional<InetSocketAddress> admin = address(problems, "admin", doc.admin);
    Optional<InetSocketAddress> stats = address(problems, "stats", doc.stats);
    List<InboundPort> inbound = new ArrayList<>();
    if (doc.inbound != null) {
      for (int i = 0; i < doc.inbound.size(); i++) {
        DocInbound in = doc.inbound.get(i);
        String where = "inbound[" + i + "]";
        Optional<InetSocketAddress> listen = address(problems, where + ".listen", in.listen);
        Optional<InetSocketAddress> app = address(problems, where + ".app", in.app);
        InboundPort.AppProtocol protocol = InboundPort.AppProtocol.HTTP;
        InboundPort.TlsMode mode = InboundPort.TlsMode.STRICT;
        try {
          if (in.protocol != null) {
            protocol = InboundPort.AppProtocol.valueOf(in.protocol.toUpperCase(Locale.ROOT));
          }
        } catch (IllegalArgumentException e) {
          problems.add(where + ".protocol: '" + in.protocol + "' (expected: http, http2 or tcp)");
        }
        try {
          if (in.mode != null) {
            mode = InboundPort.TlsMode.valueOf(in.mode.toUpperCase(Locale.ROOT));
          }
        } catch (IllegalArgumentException e) {
          problems.add(where + ".mode: '" + in.mode + "' (expected: STRICT or PERMISSIVE)");
        }
        if (listen.isEmpty()) {
          problems.add(where + ".listen: missing (expected: host:port)");
        }
        if (app.isEmpty()) {
          problems.add(where + ".app: missing (expected: host:port)");
        }
        if (listen.isPresent() && app.isPresent()) {
          inbound.add(new InboundPort(listen.get(), app.get(), protocol, mode));
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(source + ": " + String.join("; ", problems));
    }
    return new SidecarBootstrap(
        new NodeIdentity(
            n.id,
            n.cluster,
            orEmpty(n.network),
            orEmpty(n.region),
            orEmpty(n.zone),
            n.namespace,
            n.serviceAccount == null ? "default" : n.serviceAccount,
            n.labels == null ? Map.of() : n.labels),
        doc.controllers,
        ca,
        outbound,
        admin,
        inbound,
        xds,
        Boolean.TRUE.equals(doc.insecureControllers),
        detection,
        new Interception(interceptionMode, inboundCapture, Boolean.TRUE.equals(doc.dnsCapture)),
        stats,
        doc.resolvConf == null ? ResolvConf.DEFAULT_PATH : file.resolveSibling(doc.resolvConf));
  }

  private static String read(Path file) {
    try {
      return Files.readString(file).trim();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static String orEmpty(String value) {
    return value == null ? "" : value;
  }

  private static void require(List<String> problems, String field, String value) {
    if (value == null || value.isBlank()) {
      problems.add(field + ": missing (expected: a non-empty value)");
    }
  }

  /** Parses {@code host:port} (IPv6 in brackets), naming the field when it is wrong. */
  public static Optional<InetSocketAddress> address(
      List<String> problems, String field, String value) {
    if (value == null) {
      return Optional.empty();
    }
    int colon = value.lastIndexOf(':');
    try {
      if (colon <= 0) {
        throw new IllegalArgumentException();
      }
      String host = value.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port = Integer.parseInt(value.substring(colon + 1));
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException();
      }
      return Optional.of(new InetSocketAddress(host, port));
    } catch (RuntimeException e) {
      problems.add(field + ": '" + value + "' (expected: host:port with a port from 0 to 65535)");
      return Optional.empty();
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = false)
  private static final class Doc {
    @JsonProperty DocNode node;
    @JsonProperty List<String> controllers;
    @JsonProperty DocCa ca;
    @JsonProperty Boolean insecureControllers;
    @JsonProperty String protocolDetectionTimeout;
    @JsonProperty String xds;
    @JsonProperty String outbound;
    @JsonProperty String admin;
    @JsonProperty String stats;
    @JsonProperty String interception;
    @JsonProperty String inboundCapture;
    @JsonProperty Boolean dnsCapture;
    @JsonProperty String resolvConf;
    @JsonProperty List<DocInbound> inbound;
  }

  private static final class DocNode {
    @JsonProperty String id;
    @JsonProperty String cluster;
    @JsonProperty String network;
    @JsonProperty String region;
    @JsonProperty String zone;
    @JsonProperty String namespace;
    @JsonProperty String serviceAccount;
    @JsonProperty LinkedHashMap<String, String> labels;
  }

  private static final class DocCa {
    @JsonProperty String address;
    @JsonProperty String tokenFile;
    @JsonProperty String rootsFile;
    @JsonProperty String ttl;
  }

  private static final class DocInbound {
    @JsonProperty String listen;
    @JsonProperty String app;
    @JsonProperty String protocol;
    @JsonProperty String mode;
  }
}
