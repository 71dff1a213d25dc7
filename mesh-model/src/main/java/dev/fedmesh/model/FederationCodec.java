package dev.fedmesh.model;

import dev.fedmesh.federation.v1.EndpointPort;
import dev.fedmesh.federation.v1.Hello;
import dev.fedmesh.federation.v1.ProtocolVersion;
import dev.fedmesh.federation.v1.ServiceState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts between the federation protocol's messages and the model, validating every field. A
 * message is accepted whole or refused whole, with every problem listed by field path.
 */
public final class FederationCodec {
  /** The most endpoints one service may announce from one cluster in one message. */
  public static final int MAX_ENDPOINTS_PER_SERVICE = 10_000;

  /** The most ports one service may declare. */
  public static final int MAX_PORTS_PER_SERVICE = 128;

  private FederationCodec() {}

  public static Hello hello(ClusterInfo info) {
    Hello.Builder hello =
        Hello.newBuilder()
            .setProtocolVersion(ProtocolVersion.PROTOCOL_VERSION_1)
            .setCluster(info.name().value())
            .setNetwork(info.network())
            .setLocality(locality(info.locality()))
            .setTrustDomain(info.trustDomain())
            .setAgentVersion(info.agentVersion())
            .setCaKeyId(info.caKeyId());
    for (GatewayAddress gateway : info.gateways()) {
      hello.addGateways(
          dev.fedmesh.federation.v1.GatewayAddress.newBuilder()
              .setAddress(gateway.address())
              .setPort(gateway.port()));
    }
    return hello.build();
  }

  public static ClusterInfo clusterInfo(Hello hello) throws InvalidMessageException {
    List<String> problems = new ArrayList<>();
    if (hello.getProtocolVersion() != ProtocolVersion.PROTOCOL_VERSION_1) {
      problems.add(
          "hello.protocol_version: "
              + hello.getProtocolVersionValue()
              + " (expected: "
              + ProtocolVersion.PROTOCOL_VERSION_1.getNumber()
              + ")");
    }
    ClusterName name = attempt(problems, "hello.", () -> ClusterName.of(hello.getCluster()));
    Locality locality = attempt(problems, "hello.", () -> locality(hello.getLocality()));
    List<GatewayAddress> gateways = new ArrayList<>();
    for (int i = 0; i < hello.getGatewaysCount(); i++) {
      var gateway = hello.getGateways(i);
      GatewayAddress address =
          attempt(
              problems,
              "hello.gateways[" + i + "].",
              () -> new GatewayAddress(gateway.getAddress(), gateway.getPort()));
      gateways.add(address);
    }
    if (hello.getTrustDomain().isEmpty()) {
      problems.add("hello.trust_domain: '' (expected: a trust domain such as fedmesh.local)");
    }
    String network = hello.getNetwork().isEmpty() ? hello.getCluster() : hello.getNetwork();
    if (!hello.getCaKeyId().isEmpty() && !hello.getCaKeyId().matches("[0-9a-f]{2,128}")) {
      problems.add(
          "hello.ca_key_id: '"
              + hello.getCaKeyId()
              + "' (expected: lower-case hex of the CA's subject key identifier)");
    }
    if (!problems.isEmpty()) {
      throw new InvalidMessageException(problems);
    }
    return new ClusterInfo(
        name,
        network,
        locality,
        gateways,
        hello.getTrustDomain(),
        hello.getAgentVersion(),
        hello.getCaKeyId());
  }

  public static ServiceState serviceState(ServiceEndpoints service) {
    ServiceState.Builder state =
        ServiceState.newBuilder()
            .setNamespace(service.service().namespace())
            .setName(service.service().name())
            .setExported(service.exported())
            .addAllClusterIps(service.clusterIps());
    for (ServicePort port : service.ports()) {
      state.addPorts(
          dev.fedmesh.federation.v1.ServicePort.newBuilder()
              .setName(port.name())
              .setPort(port.port())
              .setProtocol(dev.fedmesh.federation.v1.Protocol.valueOf(port.protocol().name())));
    }
    for (Endpoint endpoint : service.endpoints()) {
      var proto =
          dev.fedmesh.federation.v1.Endpoint.newBuilder()
              .setAddress(endpoint.address())
              .setLocality(locality(endpoint.locality()))
              .setReady(endpoint.health() == EndpointHealth.HEALTHY)
              .setServing(endpoint.health() != EndpointHealth.UNHEALTHY)
              .setTerminating(endpoint.health() == EndpointHealth.DRAINING)
              .putAllLabels(endpoint.labels())
              .setServiceAccount(endpoint.serviceAccount())
              .setWeight(endpoint.weight())
              .setPod(endpoint.pod());
      endpoint
          .ports()
          .forEach(
              (name, port) ->
                  proto.addPorts(EndpointPort.newBuilder().setName(name).setPort(port)));
      state.addEndpoints(proto);
    }
    return state.build();
  }

  /** The model of a service announced by {@code cluster}, or every reason it is refused. */
  public static ServiceEndpoints serviceEndpoints(ClusterName cluster, ServiceState state)
      throws InvalidMessageException {
    List<String> problems = new ArrayList<>();
    ServiceKey key =
        attempt(problems, "service.", () -> ServiceKey.of(state.getNamespace(), state.getName()));
    if (state.getPortsCount() > MAX_PORTS_PER_SERVICE) {
      problems.add(
          "service.ports: "
              + state.getPortsCount()
              + " ports (expected: at most "
              + MAX_PORTS_PER_SERVICE
              + ")");
    }
    if (state.getEndpointsCount() > MAX_ENDPOINTS_PER_SERVICE) {
      problems.add(
          "service.endpoints: "
              + state.getEndpointsCount()
              + " endpoints (expected: at most "
              + MAX_ENDPOINTS_PER_SERVICE
              + ")");
    }
    if (!problems.isEmpty()) {
      throw new InvalidMessageException(problems);
    }
    List<ServicePort> ports = new ArrayList<>();
    for (int i = 0; i < state.getPortsCount(); i++) {
      var port = state.getPorts(i);
      String prefix = "service.ports[" + i + "].";
      if (port.getProtocol() == dev.fedmesh.federation.v1.Protocol.UNRECOGNIZED) {
        problems.add(
            prefix + "protocol: " + port.getProtocolValue() + " (expected: a known protocol)");
        continue;
      }
      Protocol protocol =
          port.getProtocol() == dev.fedmesh.federation.v1.Protocol.PROTOCOL_UNSPECIFIED
              ? Protocol.TCP
              : Protocol.valueOf(port.getProtocol().name());
      ports.add(
          attempt(
              problems, prefix, () -> new ServicePort(port.getName(), port.getPort(), protocol)));
    }
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < state.getEndpointsCount(); i++) {
      var endpoint = state.getEndpoints(i);
      String prefix = "service.endpoints[" + i + "].";
      endpoints.add(attempt(problems, prefix, () -> endpoint(endpoint)));
    }
    if (!problems.isEmpty()) {
      throw new InvalidMessageException(problems);
    }
    ServiceEndpoints result =
        attempt(
            problems,
            "service.",
            () ->
                new ServiceEndpoints(
                    cluster,
                    key,
                    ports,
                    state.getExported(),
                    endpoints,
                    state.getClusterIpsList()));
    if (!problems.isEmpty()) {
      throw new InvalidMessageException(problems);
    }
    return result;
  }

  private static Endpoint endpoint(dev.fedmesh.federation.v1.Endpoint proto) {
    Map<String, Integer> ports = new HashMap<>();
    for (EndpointPort port : proto.getPortsList()) {
      if (ports.put(port.getName(), port.getPort()) != null) {
        throw new IllegalArgumentException(
            "ports.name: '" + port.getName() + "' (expected: unique within the endpoint)");
      }
    }
    return new Endpoint(
        proto.getAddress(),
        ports,
        locality(proto.getLocality()),
        EndpointHealth.fromConditions(proto.getReady(), proto.getServing(), proto.getTerminating()),
        proto.getLabelsMap(),
        proto.getServiceAccount().isEmpty() ? "default" : proto.getServiceAccount(),
        proto.getWeight() == 0 ? 1 : proto.getWeight(),
        proto.getPod());
  }

  private static Locality locality(dev.fedmesh.federation.v1.Locality proto) {
    return new Locality(proto.getRegion(), proto.getZone(), proto.getSubzone());
  }

  private static dev.fedmesh.federation.v1.Locality locality(Locality locality) {
    return dev.fedmesh.federation.v1.Locality.newBuilder()
        .setRegion(locality.region())
        .setZone(locality.zone())
        .setSubzone(locality.subzone())
        .build();
  }

  private interface Construction<T> {
    T build();
  }

  private static <T> T attempt(List<String> problems, String prefix, Construction<T> construction) {
    try {
      return construction.build();
    } catch (IllegalArgumentException e) {
      problems.add(prefix + e.getMessage());
      return null;
    }
  }
}
