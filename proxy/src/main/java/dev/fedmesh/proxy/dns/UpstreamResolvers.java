package dev.fedmesh.proxy.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Where forwarded queries go and how they are tried: the resolvers the controller names, else the
 * pod's own from resolv.conf. A forwarded query gets {@code timeout} ({@code resolver_timeout}) in
 * all. Over UDP it is sent to the resolvers in turn, {@code rounds} times round, a fresh try every
 * {@link #udpTryTimeout} (that share of {@code timeout}, and no more than resolv.conf's {@code
 * timeout} when its resolvers are used); an earlier try's late answer still counts. Over TCP each
 * resolver gets an equal share of {@code timeout}, once.
 *
 * <p>Rounds: {@code 1 + external_retry_count} when the table sets it, else resolv.conf's {@code
 * attempts} for resolv.conf's resolvers (glibc's default 2), else one.
 *
 * @param resolvers the upstream resolvers, in order; empty when none are known
 * @param rounds how many times each resolver may be tried over UDP
 * @param timeout the bound on one forwarded query
 * @param udpTryTimeout how long one UDP try waits before the next one is sent
 * @param source where the resolvers came from ({@code xds}, or resolv.conf's path), for status
 * @param problem why there are none (resolv.conf unreadable or empty), else empty
 */
record UpstreamResolvers(
    List<InetSocketAddress> resolvers,
    int rounds,
    Duration timeout,
    Duration udpTryTimeout,
    String source,
    String problem) {

  UpstreamResolvers {
    resolvers = List.copyOf(resolvers);
  }

  /** The plan for a listener's config, with the pod's resolv.conf when the config names none. */
  static UpstreamResolvers of(DnsListenerConfig config, Path resolvConf) {
    Duration timeout = config.resolverTimeout();
    if (!config.resolvers().isEmpty()) {
      int rounds = 1 + config.externalRetryCount();
      return new UpstreamResolvers(
          config.resolvers(),
          rounds,
          timeout,
          timeout.dividedBy((long) config.resolvers().size() * rounds),
          "xds",
          "");
    }
    ResolvConf conf;
    try {
      conf = ResolvConf.read(resolvConf);
    } catch (IOException | RuntimeException e) {
      return new UpstreamResolvers(
          List.of(), 1, timeout, timeout, resolvConf.toString(), "cannot read: " + e.getMessage());
    }
    if (conf.nameservers().isEmpty()) {
      return new UpstreamResolvers(
          List.of(), 1, timeout, timeout, resolvConf.toString(), "no nameserver lines");
    }
    int rounds =
        config.externalRetryCount() > 0 ? 1 + config.externalRetryCount() : conf.attempts();
    Duration share = timeout.dividedBy((long) conf.nameservers().size() * rounds);
    return new UpstreamResolvers(
        conf.nameservers(),
        rounds,
        timeout,
        share.compareTo(conf.timeout()) < 0 ? share : conf.timeout(),
        resolvConf.toString(),
        "");
  }

  /** UDP tries in all. */
  int udpTries() {
    return resolvers.size() * rounds;
  }

  /** The resolver of the {@code n}th try (0-based), round robin. */
  InetSocketAddress resolver(int n) {
    return resolvers.get(n % resolvers.size());
  }

  /** How long one TCP try (connect, ask, read the answer) may take. */
  Duration tcpTryTimeout() {
    return resolvers.isEmpty() ? timeout : timeout.dividedBy(resolvers.size());
  }
}
