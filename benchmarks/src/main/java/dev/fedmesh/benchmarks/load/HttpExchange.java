package dev.fedmesh.benchmarks.load;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.Future;

/**
 * HTTP/1.1 keep-alive POSTs of a fixed body; an answer is good when it is a 200 with a body of the
 * expected size.
 */
final class HttpExchange implements LoadGenerator.Protocol {
  private final FullHttpRequest template;
  private final int answerBytes;

  /**
   * @param uri origin form ({@code /echo}) for a server or reverse proxy, absolute form ({@code
   *     http://host:port/echo}) for a forward proxy, as an {@code HTTP_PROXY} client sends it
   * @param host the Host header
   */
  HttpExchange(String uri, String host, int bodyBytes, int answerBytes) {
    ByteBuf body = Unpooled.unreleasableBuffer(Unpooled.directBuffer(bodyBytes));
    for (int i = 0; i < bodyBytes; i++) {
      body.writeByte('0' + i % 10);
    }
    template = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, uri, body);
    template.headers().set(HttpHeaderNames.HOST, host);
    template.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
    HttpUtil.setContentLength(template, bodyBytes);
    this.answerBytes = answerBytes;
  }

  @Override
  public void init(Channel channel, LoadGenerator.Connection connection) {
    channel
        .pipeline()
        .addLast(new HttpClientCodec())
        .addLast(new HttpObjectAggregator(1 << 20))
        .addLast(
            new SimpleChannelInboundHandler<FullHttpResponse>() {
              @Override
              protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
                if (!response.status().equals(HttpResponseStatus.OK)) {
                  connection.answered("status " + response.status().code());
                } else if (response.content().readableBytes() != answerBytes) {
                  connection.answered("body of " + response.content().readableBytes() + " B");
                } else {
                  connection.answered();
                }
              }

              @Override
              public void channelInactive(ChannelHandlerContext ctx) {
                connection.closed();
              }

              @Override
              public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
              }
            });
  }

  @Override
  public Future<?> ready(Channel channel) {
    return channel.newSucceededFuture();
  }

  @Override
  public void send(Channel channel) {
    channel.writeAndFlush(template.retainedDuplicate(), channel.voidPromise());
  }
}
