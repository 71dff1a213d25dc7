package dev.fedmesh.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslClientHelloHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The first handler of every accepted connection: reads the TLS ClientHello without terminating TLS
 * (Netty's {@link SslClientHelloHandler} buffers the records and leaves them unconsumed), decides
 * where the connection goes from its server name, and hands it to {@link Decisions}. The hello's
 * bytes stay buffered in this handler until it is removed from the pipeline, which passes them on
 * unchanged to the next handler.
 *
 * <p>Runs on the connection's event loop; one instance per connection.
 */
final class SniInspector extends SslClientHelloHandler<SniInspector.Decision> {
  /** What becomes of a connection once its hello has been read, or has failed to arrive. */
  interface Decisions {
    /** Closes the connection, counted and logged as {@code reason}. */
    void refuse(ChannelHandlerContext ctx, RefusalReason reason, String detail);

    /**
     * Connects the connection to an endpoint of {@code route}; removes {@code inspector} from the
     * pipeline once the bytes may flow.
     */
    void forward(ChannelHandlerContext ctx, SniInspector inspector, SniRoutes.Route route);
  }

  /** A route, or the reason there is none. */
  record Decision(SniRoutes.Route route, RefusalReason refusal, String detail) {
    static Decision refuse(RefusalReason reason, String detail) {
      return new Decision(null, reason, detail);
    }
  }

  private final Duration helloTimeout;
  private final Supplier<SniRoutes> routes;
  private final Decisions decisions;
  private boolean started;
  private boolean decided;
  private ScheduledFuture<?> timeout;

  SniInspector(
      int maxHelloBytes, Duration helloTimeout, Supplier<SniRoutes> routes, Decisions decisions) {
    super(maxHelloBytes);
    this.helloTimeout = helloTimeout;
    this.routes = routes;
    this.decisions = decisions;
  }

  /** Where a connection whose ClientHello body is {@code hello} goes (null: not a ClientHello). */
  static Decision decide(ByteBuf hello, SniRoutes routes) {
    if (hello == null) {
      return Decision.refuse(
          RefusalReason.NOT_TLS, "the first bytes are not a TLS handshake with a ClientHello");
    }
    Optional<String> name;
    try {
      name = ClientHello.serverName(hello);
    } catch (IllegalArgumentException e) {
      return Decision.refuse(RefusalReason.MALFORMED_HELLO, e.getMessage());
    }
    if (name.isEmpty()) {
      return Decision.refuse(RefusalReason.NO_SNI, "the ClientHello has no server name");
    }
    return routes
        .route(name.get())
        .map(route -> new Decision(route, null, ""))
        .orElseGet(
            () ->
                Decision.refuse(
                    RefusalReason.UNKNOWN_SNI,
                    "server name '" + name.get() + "' matches no exported service"));
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    super.handlerAdded(ctx);
    if (ctx.channel().isActive()) {
      start(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    start(ctx);
    super.channelActive(ctx);
  }

  /** The channel does not read by itself (auto-read is off): ask for the hello. */
  private void start(ChannelHandlerContext ctx) {
    if (started) {
      return;
    }
    started = true;
    timeout =
        ctx.executor()
            .schedule(
                () ->
                    settle(
                        ctx,
                        Decision.refuse(
                            RefusalReason.HELLO_TIMEOUT,
                            "no complete ClientHello within " + helloTimeout.toMillis() + " ms")),
                helloTimeout.toNanos(),
                TimeUnit.NANOSECONDS);
    ctx.read();
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    // Once decided, bytes only accumulate (unconsumed) until the pipeline hands them on.
    if (!decided) {
      super.decode(ctx, in, out);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
    if (decided) {
      // No more reads until the connection is spliced: the decoder would otherwise keep asking.
      ctx.fireChannelReadComplete();
    } else {
      super.channelReadComplete(ctx); // asks for more, the hello is not complete yet
    }
  }

  @Override
  protected Future<Decision> lookup(ChannelHandlerContext ctx, ByteBuf clientHello) {
    return ctx.executor().newSucceededFuture(decide(clientHello, routes.get()));
  }

  @Override
  protected void onLookupComplete(ChannelHandlerContext ctx, Future<Decision> future) {
    settle(ctx, future.getNow());
  }

  private void settle(ChannelHandlerContext ctx, Decision decision) {
    if (decided) {
      return;
    }
    decided = true;
    if (timeout != null) {
      timeout.cancel(false);
    }
    if (decision.route() == null) {
      decisions.refuse(ctx, decision.refusal(), decision.detail());
    } else {
      decisions.forward(ctx, this, decision.route());
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (decided) {
      ctx.close();
      return;
    }
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof TooLongFrameException) {
        settle(ctx, Decision.refuse(RefusalReason.HELLO_TOO_LARGE, t.getMessage()));
        return;
      }
      if (t instanceof NotSslRecordException) {
        settle(ctx, Decision.refuse(RefusalReason.NOT_TLS, "not a TLS record at the first bytes"));
        return;
      }
    }
    settle(ctx, Decision.refuse(RefusalReason.CLOSED_BEFORE_HELLO, String.valueOf(cause)));
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    super.userEventTriggered(ctx, evt);
    if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
      settle(
          ctx,
          Decision.refuse(
              RefusalReason.CLOSED_BEFORE_HELLO,
              "the client finished sending before its ClientHello was complete"));
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    settle(
        ctx,
        Decision.refuse(
            RefusalReason.CLOSED_BEFORE_HELLO,
            "the client closed before its ClientHello was complete"));
    super.channelInactive(ctx);
  }
}
