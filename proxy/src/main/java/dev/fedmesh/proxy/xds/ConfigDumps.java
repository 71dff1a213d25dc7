package dev.fedmesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.admin.v3.ClustersConfigDump;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.EndpointsConfigDump;
import io.envoyproxy.envoy.admin.v3.ListenersConfigDump;
import io.envoyproxy.envoy.admin.v3.RoutesConfigDump;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The active config as Envoy's admin {@code /config_dump} JSON, so that tools made for Envoy (and
 * people used to it) read ours. Used by the sidecar's and the gateway's admin endpoints.
 */
public final class ConfigDumps {
  /** The types of the dump's own wrappers; every other type is found in the resources. */
  private static final List<Descriptors.Descriptor> WRAPPERS =
      List.of(
          ListenersConfigDump.getDescriptor(),
          ClustersConfigDump.getDescriptor(),
          EndpointsConfigDump.getDescriptor(),
          RoutesConfigDump.getDescriptor(),
          Listener.getDescriptor(),
          Cluster.getDescriptor(),
          ClusterLoadAssignment.getDescriptor(),
          RouteConfiguration.getDescriptor());

  /** Message types by full name, once resolved. */
  private static final Map<String, Descriptors.Descriptor> RESOLVED = new ConcurrentHashMap<>();

  private ConfigDumps() {}

  /** The config dump of {@code config}, every resource type in name order. */
  public static String json(ProxyConfig config) throws InvalidProtocolBufferException {
    ListenersConfigDump.Builder listeners = ListenersConfigDump.newBuilder();
    new TreeMap<>(config.listeners())
        .forEach(
            (name, listener) ->
                listeners.addDynamicListeners(
                    ListenersConfigDump.DynamicListener.newBuilder()
                        .setName(name)
                        .setActiveState(
                            ListenersConfigDump.DynamicListenerState.newBuilder()
                                .setListener(Any.pack(listener)))));
    RoutesConfigDump.Builder routes = RoutesConfigDump.newBuilder();
    new TreeMap<>(config.routes())
        .forEach(
            (name, route) ->
                routes.addDynamicRouteConfigs(
                    RoutesConfigDump.DynamicRouteConfig.newBuilder()
                        .setRouteConfig(Any.pack(route))));
    ClustersConfigDump.Builder clusters = ClustersConfigDump.newBuilder();
    new TreeMap<>(config.clusters())
        .forEach(
            (name, cluster) ->
                clusters.addDynamicActiveClusters(
                    ClustersConfigDump.DynamicCluster.newBuilder().setCluster(Any.pack(cluster))));
    EndpointsConfigDump.Builder endpoints = EndpointsConfigDump.newBuilder();
    new TreeMap<>(config.endpoints())
        .forEach(
            (name, assignment) ->
                endpoints.addDynamicEndpointConfigs(
                    EndpointsConfigDump.DynamicEndpointConfig.newBuilder()
                        .setEndpointConfig(Any.pack(assignment))));
    ConfigDump dump =
        ConfigDump.newBuilder()
            .addConfigs(Any.pack(listeners.build()))
            .addConfigs(Any.pack(routes.build()))
            .addConfigs(Any.pack(clusters.build()))
            .addConfigs(Any.pack(endpoints.build()))
            .build();
    JsonFormat.TypeRegistry.Builder registry = JsonFormat.TypeRegistry.newBuilder().add(WRAPPERS);
    Set<String> seen = new HashSet<>();
    for (var resources :
        List.of(
            config.listeners().values(),
            config.routes().values(),
            config.clusters().values(),
            config.endpoints().values())) {
      for (Message resource : resources) {
        addTypes(resource, registry, seen);
      }
    }
    return JsonFormat.printer().usingTypeRegistry(registry.build()).print(dump);
  }

  /**
   * Registers the type of every {@code Any} in {@code message}, at any depth (filters, transport
   * sockets, retry predicates and the config inside them): whatever extension the controller sends
   * is printed, without a list here to keep up to date.
   */
  private static void addTypes(
      Message message, JsonFormat.TypeRegistry.Builder registry, Set<String> seen)
      throws InvalidProtocolBufferException {
    if (message instanceof Any any) {
      String typeName = any.getTypeUrl().substring(any.getTypeUrl().lastIndexOf('/') + 1);
      Descriptors.Descriptor descriptor = resolve(typeName);
      if (seen.add(typeName)) {
        registry.add(descriptor);
      }
      addTypes(DynamicMessage.parseFrom(descriptor, any.getValue()), registry, seen);
      return;
    }
    for (Map.Entry<Descriptors.FieldDescriptor, Object> field : message.getAllFields().entrySet()) {
      if (field.getKey().getJavaType() != Descriptors.FieldDescriptor.JavaType.MESSAGE) {
        continue;
      }
      if (field.getKey().isRepeated()) {
        for (Object element : (List<?>) field.getValue()) {
          addTypes(asMessage(element), registry, seen);
        }
      } else {
        addTypes(asMessage(field.getValue()), registry, seen);
      }
    }
  }

  private static Message asMessage(Object value) throws InvalidProtocolBufferException {
    if (value instanceof DynamicMessage dynamic
        && dynamic.getDescriptorForType().getFullName().equals(Any.getDescriptor().getFullName())) {
      return Any.parseFrom(dynamic.toByteString()); // an Any inside a message parsed dynamically
    }
    return (Message) value;
  }

  /**
   * The descriptor of a message type by its full name: the class that Envoy's, xDS's and UDPA's
   * generated Java code gives it (each sets {@code java_multiple_files} under a package prefix).
   *
   * @throws InvalidProtocolBufferException naming the type when no such class is on the class path
   */
  static Descriptors.Descriptor resolve(String typeName) throws InvalidProtocolBufferException {
    Descriptors.Descriptor known = RESOLVED.get(typeName);
    if (known != null) {
      return known;
    }
    for (String prefix : List.of("io.envoyproxy.", "com.github.", "com.google.", "")) {
      try {
        Class<?> type = Class.forName(prefix + typeName, false, ConfigDumps.class.getClassLoader());
        Descriptors.Descriptor descriptor =
            (Descriptors.Descriptor) type.getMethod("getDescriptor").invoke(null);
        if (descriptor.getFullName().equals(typeName)) {
          RESOLVED.put(typeName, descriptor);
          return descriptor;
        }
      } catch (ReflectiveOperationException | ClassCastException e) {
        // not under this prefix
      }
    }
    throw new InvalidProtocolBufferException(
        "config_dump: type " + typeName + " is not known to this proxy");
  }
}
