package dev.fedmesh.agent.source;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.InvalidMessageException;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The endpoints-file format: a YAML list of services with their ports and endpoints, for clusters
 * without Kubernetes (VMs, tests, the lab's first steps).
 *
 * <pre>
 * services:
 *   - name: echo
 *     namespace: default        # default: default
 *     exported: true            # default: false (cluster-local)
 *     ports:
 *       - {name: grpc, port: 7070, protocol: grpc}
 *     endpoints:
 *       - address: 127.0.0.1
 *         ports: {grpc: 50051}  # default: the service port
 *         region: us-east       # default: the agent's
 *         zone: us-east-a
 *         ready: true           # default: true
 *         labels: {version: v1}
 *         serviceAccount: echo  # default: default
 * </pre>
 */
public final class EndpointsFile {
  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          // An empty list item or map value ("- " or "version:") would otherwise reach validation
          // as null and escape parse() as a NullPointerException.
          .setDefaultSetterInfo(JsonSetter.Value.forContentNulls(Nulls.FAIL));

  private EndpointsFile() {}

  /**
   * Parses and validates a whole file; every problem is listed with its path, such as {@code
   * services[0].ports[1].port: 70000 (expected: 1..65535)}.
   */
  public static Map<ServiceKey, ServiceEndpoints> parse(
      String yaml, ClusterName cluster, Locality defaultLocality) throws InvalidMessageException {
    Document document;
    try {
      document = YAML.readValue(yaml, Document.class);
    } catch (UnrecognizedPropertyException e) {
      List<String> known = new ArrayList<>();
      e.getKnownPropertyIds().forEach(id -> known.add(String.valueOf(id)));
      java.util.Collections.sort(known);
      throw new InvalidMessageException(
          List.of(path(e) + ": unknown field (expected: one of " + String.join(", ", known) + ")"));
    } catch (JsonMappingException e) {
      throw new InvalidMessageException(List.of(path(e) + ": " + e.getOriginalMessage()));
    } catch (IOException e) {
      throw new InvalidMessageException(List.of("file: " + e.getMessage()));
    }
    if (document == null) {
      return Map.of();
    }
    List<String> problems = new ArrayList<>();
    Map<ServiceKey, ServiceEndpoints> services = new LinkedHashMap<>();
    List<ServiceDoc> docs = document.services == null ? List.of() : document.services;
    for (int s = 0; s < docs.size(); s++) {
      String prefix = "services[" + s + "].";
      ServiceDoc doc = docs.get(s);
      try {
        ServiceEndpoints service = service(doc, cluster, defaultLocality, prefix, problems);
        if (service != null && services.put(service.service(), service) != null) {
          problems.add(prefix + "name: '" + service.service() + "' (expected: unique in the file)");
        }
      } catch (IllegalArgumentException e) {
        problems.add(prefix + e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidMessageException(problems);
    }
    return services;
  }

  private static ServiceEndpoints service(
      ServiceDoc doc,
      ClusterName cluster,
      Locality defaultLocality,
      String prefix,
      List<String> problems) {
    if (doc.name == null) {
      problems.add(prefix + "name: missing (expected: the service's name)");
      return null;
    }
    ServiceKey key = ServiceKey.of(doc.namespace == null ? "default" : doc.namespace, doc.name);
    List<ServicePort> ports = new ArrayList<>();
    List<PortDoc> portDocs = doc.ports == null ? List.of() : doc.ports;
    for (int p = 0; p < portDocs.size(); p++) {
      PortDoc port = portDocs.get(p);
      String portPrefix = prefix + "ports[" + p + "].";
      try {
        String name = port.name == null ? "port-" + port.port : port.name;
        ports.add(new ServicePort(name, port.port, protocol(port.protocol)));
      } catch (IllegalArgumentException e) {
        problems.add(portPrefix + e.getMessage());
      }
    }
    List<Endpoint> endpoints = new ArrayList<>();
    List<EndpointDoc> endpointDocs = doc.endpoints == null ? List.of() : doc.endpoints;
    for (int e = 0; e < endpointDocs.size(); e++) {
      EndpointDoc endpoint = endpointDocs.get(e);
      String endpointPrefix = prefix + "endpoints[" + e + "].";
      try {
        if (endpoint.address == null) {
          throw new IllegalArgumentException("address: missing (expected: an IP address)");
        }
        if (endpoint.region == null && endpoint.zone != null) {
          throw new IllegalArgumentException(
              "zone: '" + endpoint.zone + "' (expected: a region when a zone is given)");
        }
        Locality locality =
            endpoint.region == null
                ? defaultLocality
                : new Locality(endpoint.region, endpoint.zone == null ? "" : endpoint.zone, "");
        endpoints.add(
            new Endpoint(
                endpoint.address,
                endpoint.ports == null ? Map.of() : endpoint.ports,
                locality,
                endpoint.ready ? EndpointHealth.HEALTHY : EndpointHealth.UNHEALTHY,
                endpoint.labels == null ? Map.of() : endpoint.labels,
                endpoint.serviceAccount == null ? "default" : endpoint.serviceAccount,
                endpoint.weight,
                endpoint.pod == null ? "" : endpoint.pod));
      } catch (IllegalArgumentException ex) {
        problems.add(endpointPrefix + ex.getMessage());
      }
    }
    if (problems.stream().anyMatch(problem -> problem.startsWith(prefix))) {
      return null;
    }
    return new ServiceEndpoints(cluster, key, ports, doc.exported, endpoints);
  }

  private static Protocol protocol(String name) {
    if (name == null) {
      return Protocol.TCP;
    }
    try {
      return Protocol.valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "protocol: '" + name + "' (expected: one of tcp, http, http2, grpc, tls)");
    }
  }

  private static String path(JsonMappingException e) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference reference : e.getPath()) {
      if (reference.getIndex() >= 0) {
        path.append('[').append(reference.getIndex()).append(']');
      } else if (reference.getFieldName() != null) {
        if (path.length() > 0) {
          path.append('.');
        }
        path.append(reference.getFieldName());
      }
    }
    return path.length() == 0 ? "file" : path.toString();
  }

  static final class Document {
    @JsonProperty List<ServiceDoc> services;
  }

  static final class ServiceDoc {
    @JsonProperty String name;
    @JsonProperty String namespace;
    @JsonProperty boolean exported;
    @JsonProperty List<PortDoc> ports;
    @JsonProperty List<EndpointDoc> endpoints;
  }

  static final class PortDoc {
    @JsonProperty String name;
    @JsonProperty int port;
    @JsonProperty String protocol;
  }

  static final class EndpointDoc {
    @JsonProperty String address;
    @JsonProperty Map<String, Integer> ports;
    @JsonProperty String region;
    @JsonProperty String zone;
    @JsonProperty boolean ready = true;
    @JsonProperty Map<String, String> labels;
    @JsonProperty String serviceAccount;
    @JsonProperty int weight = 1;
    @JsonProperty String pod;
  }
}
