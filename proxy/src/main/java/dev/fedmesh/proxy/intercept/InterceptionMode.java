package dev.fedmesh.proxy.intercept;

/**
 * How a pod's traffic reaches its sidecar, as Istio's {@code interceptionMode}.
 *
 * <ul>
 *   <li>{@link #NONE}: not intercepted; applications use the outbound listener as an HTTP proxy and
 *       inbound listeners are bound on the service ports themselves (the loopback lab).
 *   <li>{@link #REDIRECT}: iptables {@code nat REDIRECT} in both directions; the original
 *       destination is read with {@code SO_ORIGINAL_DST}.
 *   <li>{@link #TPROXY}: inbound through iptables {@code mangle TPROXY} (the capture listener is
 *       transparent: the accepted socket's local address is the original destination, and the proxy
 *       needs {@code CAP_NET_ADMIN}); outbound as in REDIRECT.
 * </ul>
 */
public enum InterceptionMode {
  NONE,
  REDIRECT,
  TPROXY
}
