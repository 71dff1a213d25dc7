package dev.fedmesh.proxy.http;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpObject;

/**
 * One request's stream to one upstream host: an HTTP/1.1 connection borrowed from the pool, or a
 * new HTTP/2 stream on a shared connection. Lives on the downstream connection's event loop.
 */
interface UpstreamStream {
  /** What the stream reports back; called on the event loop. */
  interface Listener {
    void onResponse(HttpObject message);

    /** The stream broke before the response ended; {@code refused} for an HTTP/2 refusal. */
    void onReset(Throwable cause, boolean refused);

    void onWritabilityChanged(boolean writable);
  }

  void write(HttpObject message);

  void flush();

  boolean isWritable();

  void setAutoRead(boolean autoRead);

  /** The response ended: give the connection back (HTTP/1.1 keep-alive) or close the stream. */
  void finish(boolean reusable);

  /** Abandons the exchange: closes the HTTP/1.1 connection or resets the HTTP/2 stream. */
  void reset();

  Channel channel();
}
