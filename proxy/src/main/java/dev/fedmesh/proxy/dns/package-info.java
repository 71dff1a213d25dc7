/**
 * The sidecar's DNS proxy: the controller's {@code dns} listener (Envoy's UDP DNS filter, which
 * fedmesh also serves over TCP) answers the mesh's names from the table the controller sends and
 * forwards every other name to the pod's own resolvers, so that a service running only in other
 * clusters resolves in every cluster. {@link dev.fedmesh.proxy.dns.DnsProxy} is the listener;
 * {@link dev.fedmesh.proxy.dns.DnsListenerConfig} reads and checks its xDS.
 */
package dev.fedmesh.proxy.dns;
