package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultPromise;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HttpUpstreamsTest {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private Backend backend;

  @AfterEach
  void tearDown() throws Exception {
    if (backend != null) {
      backend.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void aKeptAliveConnectionServesRequestAfterRequestWithoutGrowing() throws Exception {
    backend = new Backend("app");
    UpstreamCluster cluster =
        UpstreamCluster.singleHost("app", backend.address(), Duration.ofSeconds(2));
    UpstreamHost host = cluster.hosts().get(0);
    HttpUpstreams upstreams = new HttpUpstreams(Optional.empty());
    EventLoop loop = group.next();

    Set<Channel> connections = new HashSet<>();
    for (int i = 0; i < 500; i++) {
      connections.add(exchange(upstreams, loop, cluster, host));
    }

    assertThat(connections).as("one kept-alive connection served every request").hasSize(1);
    Channel connection = connections.iterator().next();
    assertThat(closeListeners(connection))
        .as("listeners on the connection's close future after 500 requests")
        .isLessThanOrEqualTo(2);
    assertThat(backend.served).hasValue(500);

    // A pooled connection that closes leaves the pool: the next request opens another.
    connection.close().sync();
    Channel next = exchange(upstreams, loop, cluster, host);
    assertThat(next).isNotSameAs(connection);
    assertThat(next.isActive()).isTrue();
  }

  /** One GET through a stream from the pool; returns the connection it went over. */
  private static Channel exchange(
      HttpUpstreams upstreams, EventLoop loop, UpstreamCluster cluster, UpstreamHost host)
      throws Exception {
    CompletableFuture<Channel> done = new CompletableFuture<>();
    AtomicReference<UpstreamStream> stream = new AtomicReference<>();
    UpstreamStream.Listener listener =
        new UpstreamStream.Listener() {
          private int status;

          @Override
          public void onResponse(HttpObject message) {
            if (message instanceof HttpResponse response) {
              status = response.status().code();
            }
            boolean last = message instanceof LastHttpContent;
            ReferenceCountUtil.release(message);
            if (last) {
              Channel channel = stream.get().channel();
              stream.get().finish(true);
              if (status == 200) {
                done.complete(channel);
              } else {
                done.completeExceptionally(new AssertionError("status " + status));
              }
            }
          }

          @Override
          public void onReset(Throwable cause, boolean refused) {
            done.completeExceptionally(cause);
          }

          @Override
          public void onWritabilityChanged(boolean writable) {}
        };
    loop.execute(
        () ->
            upstreams.open(
                loop,
                cluster,
                host,
                listener,
                opened -> {
                  stream.set(opened);
                  FullHttpRequest request =
                      new DefaultFullHttpRequest(
                          HttpVersion.HTTP_1_1, HttpMethod.GET, "/", Unpooled.EMPTY_BUFFER);
                  request.headers().set(HttpHeaderNames.HOST, "app");
                  request.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
                  opened.write(request);
                  opened.flush();
                },
                done::completeExceptionally));
    return done.get(10, TimeUnit.SECONDS);
  }

  /**
   * How many listeners wait on {@code channel}'s close future. Netty has no public count, so this
   * reads its promise's fields; if a Netty upgrade renames them, this fails here, loudly.
   */
  private static int closeListeners(Channel channel) throws ReflectiveOperationException {
    Field single = DefaultPromise.class.getDeclaredField("listener");
    Field many = DefaultPromise.class.getDeclaredField("listeners");
    single.setAccessible(true);
    many.setAccessible(true);
    Object future = channel.closeFuture();
    if (many.get(future) != null) {
      Method size = many.getType().getDeclaredMethod("size");
      size.setAccessible(true);
      return (int) size.invoke(many.get(future));
    }
    return single.get(future) == null ? 0 : 1;
  }
}
