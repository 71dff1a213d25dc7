package dev.fedmesh.gateway;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.xds.ProxyConfig;
import java.util.function.Consumer;

/**
 * A config source its owner sets by hand: for a process that already holds the config (an embedded
 * gateway, a test). A config set before the gateway starts is delivered when it starts.
 */
public final class DirectConfigSource implements GatewayConfigSource {
  private Consumer<ProxyConfig> onConfig;
  private ProxyConfig pending;

  /** A source that delivers nothing until {@link #set} is called. */
  public DirectConfigSource() {}

  /** A source that delivers {@code initial} as soon as the gateway starts. */
  public DirectConfigSource(ProxyConfig initial) {
    this.pending = requireNonNull(initial, "initial");
  }

  @Override
  public synchronized void start(Consumer<ProxyConfig> onConfig) {
    this.onConfig = requireNonNull(onConfig, "onConfig");
    if (pending != null) {
      onConfig.accept(pending);
      pending = null;
    }
  }

  /** Makes {@code config} the gateway's config (at once when started, else at start). */
  public synchronized void set(ProxyConfig config) {
    requireNonNull(config, "config");
    if (onConfig == null) {
      pending = config;
    } else {
      onConfig.accept(config);
    }
  }

  @Override
  public synchronized void close() {
    onConfig = null;
  }
}
