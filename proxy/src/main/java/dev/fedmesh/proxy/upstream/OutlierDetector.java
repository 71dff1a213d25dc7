package dev.fedmesh.proxy.upstream;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import java.util.Collection;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Envoy's outlier detection for one cluster: consecutive 5xx, consecutive gateway failures and
 * consecutive local-origin failures eject a host at once; the failure-percentage detector and the
 * return of ejected hosts run at each interval. An ejected host stays out for {@code
 * base_ejection_time × times ejected} (capped by {@code max_ejection_time}), and ejection never
 * takes more than {@code max_ejection_percent} of the cluster's hosts out (at least one host may
 * always be ejected, as in Envoy).
 *
 * <p>With {@code split_external_local_origin_errors} off, local-origin failures count as gateway
 * errors (Envoy maps a connect failure to a 503); with it on they have their own counter.
 *
 * <p>Intervals are evaluated lazily when a host is recorded or looked at, so an idle cluster costs
 * no timer; the clock is injectable for tests.
 */
final class OutlierDetector {
  private final boolean enabled;
  private final int consecutive5xx;
  private final int consecutiveGateway;
  private final int consecutiveLocal;
  private final boolean split;
  private final int enforce5xx;
  private final int enforceGateway;
  private final int enforceLocal;
  private final long intervalNanos;
  private final long baseEjectionNanos;
  private final long maxEjectionNanos;
  private final int maxEjectionPercent;
  private final int failurePercentageThreshold;
  private final int enforceFailurePercentage;
  private final int failurePercentageMinimumHosts;
  private final long failurePercentageRequestVolume;
  private final LongSupplier nanoTime;
  private final Supplier<Collection<UpstreamHost>> hosts;
  private long intervalStartNanos;

  /** Hosts ejected now (recounted each interval): lets the per-request path skip the host scan. */
  private int ejectedHosts;

  OutlierDetector(
      OutlierDetection config,
      boolean enabled,
      LongSupplier nanoTime,
      Supplier<Collection<UpstreamHost>> hosts) {
    this.enabled = enabled;
    this.consecutive5xx = value(config.getConsecutive5Xx(), config.hasConsecutive5Xx(), 5);
    this.consecutiveGateway =
        value(config.getConsecutiveGatewayFailure(), config.hasConsecutiveGatewayFailure(), 5);
    this.consecutiveLocal =
        value(
            config.getConsecutiveLocalOriginFailure(),
            config.hasConsecutiveLocalOriginFailure(),
            5);
    this.split = config.getSplitExternalLocalOriginErrors();
    this.enforce5xx =
        value(config.getEnforcingConsecutive5Xx(), config.hasEnforcingConsecutive5Xx(), 100);
    this.enforceGateway =
        value(
            config.getEnforcingConsecutiveGatewayFailure(),
            config.hasEnforcingConsecutiveGatewayFailure(),
            0);
    this.enforceLocal =
        value(
            config.getEnforcingConsecutiveLocalOriginFailure(),
            config.hasEnforcingConsecutiveLocalOriginFailure(),
            100);
    this.intervalNanos =
        config.hasInterval() ? Durations.toNanos(config.getInterval()) : 10_000_000_000L;
    this.baseEjectionNanos =
        config.hasBaseEjectionTime()
            ? Durations.toNanos(config.getBaseEjectionTime())
            : 30_000_000_000L;
    this.maxEjectionNanos =
        config.hasMaxEjectionTime()
            ? Durations.toNanos(config.getMaxEjectionTime())
            : 300_000_000_000L;
    this.maxEjectionPercent =
        value(config.getMaxEjectionPercent(), config.hasMaxEjectionPercent(), 10);
    this.failurePercentageThreshold =
        value(config.getFailurePercentageThreshold(), config.hasFailurePercentageThreshold(), 85);
    this.enforceFailurePercentage =
        value(config.getEnforcingFailurePercentage(), config.hasEnforcingFailurePercentage(), 0);
    this.failurePercentageMinimumHosts =
        value(
            config.getFailurePercentageMinimumHosts(),
            config.hasFailurePercentageMinimumHosts(),
            5);
    this.failurePercentageRequestVolume =
        value(
            config.getFailurePercentageRequestVolume(),
            config.hasFailurePercentageRequestVolume(),
            50);
    this.nanoTime = nanoTime;
    this.hosts = hosts;
    this.intervalStartNanos = nanoTime.getAsLong();
  }

  private static int value(UInt32Value value, boolean present, int fallback) {
    return present ? value.getValue() : fallback;
  }

  synchronized void success(UpstreamHost host) {
    if (!enabled) {
      return;
    }
    tick();
    host.intervalSuccesses++;
    host.consecutive5xx = 0;
    host.consecutiveGatewayFailures = 0;
    host.consecutiveLocalOriginFailures = 0;
  }

  synchronized void failure(UpstreamHost host, FailureKind kind) {
    if (!enabled) {
      return;
    }
    tick();
    host.intervalFailures++;
    if (kind.localOrigin() && split) {
      host.consecutiveLocalOriginFailures++;
      if (host.consecutiveLocalOriginFailures >= consecutiveLocal && enforceLocal > 0) {
        eject(host);
      }
      return;
    }
    // Without the split a local-origin failure is a 503 from Envoy's point of view.
    boolean gateway = kind == FailureKind.GATEWAY_ERROR || kind.localOrigin();
    host.consecutive5xx++;
    if (gateway) {
      host.consecutiveGatewayFailures++;
    } else {
      host.consecutiveGatewayFailures = 0;
    }
    if (host.consecutiveGatewayFailures >= consecutiveGateway && enforceGateway > 0) {
      eject(host);
    } else if (host.consecutive5xx >= consecutive5xx && enforce5xx > 0) {
      eject(host);
    }
  }

  synchronized boolean isEjected(UpstreamHost host) {
    if (!host.ejected) {
      return false;
    }
    long now = nanoTime.getAsLong();
    if (now - host.ejectedUntilNanos >= 0) {
      host.ejected = false;
      ejectedHosts = Math.max(0, ejectedHosts - 1);
    }
    if (now - intervalStartNanos >= intervalNanos) {
      tick();
    }
    return host.ejected;
  }

  private void eject(UpstreamHost host) {
    if (host.ejected) {
      return;
    }
    Collection<UpstreamHost> all = hosts.get();
    long ejectedNow = all.stream().filter(h -> h.ejected).count();
    // Envoy always lets one host go, even when the percentage would round to none.
    if (ejectedNow > 0 && (ejectedNow + 1) * 100 > (long) maxEjectionPercent * all.size()) {
      return;
    }
    host.ejected = true;
    ejectedHosts++;
    host.ejectionCount++;
    host.totalEjections++;
    long duration =
        Math.min(
            maxEjectionNanos, Math.max(baseEjectionNanos, baseEjectionNanos * host.ejectionCount));
    host.ejectedUntilNanos = nanoTime.getAsLong() + duration;
    host.consecutive5xx = 0;
    host.consecutiveGatewayFailures = 0;
    host.consecutiveLocalOriginFailures = 0;
  }

  /** Runs the interval work that is due: returns, the percentage detector, decay. */
  private void tick() {
    long now = nanoTime.getAsLong();
    boolean intervalDue = now - intervalStartNanos >= intervalNanos;
    if (ejectedHosts == 0 && !intervalDue) {
      return; // the common case: nothing to return to rotation, no interval work due
    }
    Collection<UpstreamHost> all = hosts.get();
    int stillEjected = 0;
    for (UpstreamHost host : all) {
      if (host.ejected && now - host.ejectedUntilNanos >= 0) {
        host.ejected = false;
      }
      if (host.ejected) {
        stillEjected++;
      }
    }
    ejectedHosts = stillEjected;
    if (!intervalDue) {
      return;
    }
    intervalStartNanos = now;
    if (enforceFailurePercentage > 0) {
      long eligible =
          all.stream()
              .filter(
                  h -> h.intervalSuccesses + h.intervalFailures >= failurePercentageRequestVolume)
              .count();
      if (eligible >= failurePercentageMinimumHosts) {
        for (UpstreamHost host : all) {
          long volume = host.intervalSuccesses + host.intervalFailures;
          if (volume >= failurePercentageRequestVolume
              && host.intervalFailures * 100 >= (long) failurePercentageThreshold * volume) {
            eject(host);
          }
        }
      }
    }
    for (UpstreamHost host : all) {
      if (!host.ejected && host.ejectionCount > 0 && host.intervalFailures == 0) {
        host.ejectionCount--;
      }
      host.intervalSuccesses = 0;
      host.intervalFailures = 0;
    }
  }
}
