package dev.fedmesh.proxy.intercept;

import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import java.util.function.Consumer;

/**
 * Opens a raw connection to a cluster's host on {@code loop}: TCP, with the cluster's TLS (the
 * mesh's mutual TLS to a peer sidecar) finished before {@code onOpen} runs.
 */
@FunctionalInterface
public interface UpstreamConnector {
  void open(
      EventLoop loop,
      UpstreamCluster cluster,
      UpstreamHost host,
      Consumer<Channel> onOpen,
      Consumer<Throwable> onFailure);
}
