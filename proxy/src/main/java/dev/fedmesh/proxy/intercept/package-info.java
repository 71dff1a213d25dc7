/**
 * Transparent interception: the sidecar's capture listeners for traffic the pod's iptables rules
 * redirect to it (Envoy's {@code virtualOutbound} / {@code virtualInbound} with {@code
 * use_original_dst}), the original destination of each connection, and TCP forwarding by
 * destination ({@code tcp_proxy}, {@code PassthroughCluster}).
 */
package dev.fedmesh.proxy.intercept;
