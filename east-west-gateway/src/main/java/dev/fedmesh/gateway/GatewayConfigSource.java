package dev.fedmesh.gateway;

import dev.fedmesh.proxy.xds.ProxyConfig;
import java.util.function.Consumer;

/**
 * Where the gateway's config comes from: {@link XdsConfigSource} from the controller over ADS in
 * production, {@link DirectConfigSource} for embedding and tests.
 */
public interface GatewayConfigSource extends AutoCloseable {
  /**
   * Starts delivering configs: {@code onConfig} receives each new complete config (Envoy's warming
   * rules applied), one call at a time, on a thread of the source's choosing.
   */
  void start(Consumer<ProxyConfig> onConfig);

  /** Stops delivering; the gateway keeps the last config it received. */
  @Override
  void close();
}
