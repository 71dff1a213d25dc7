package dev.fedmesh.proxy.dns;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramChannel;
import io.netty.handler.codec.dns.DnsResponseCode;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the DNS listener does with one message, whichever transport it came by (Envoy's DNS filter,
 * plus TCP): a name in the table is answered from it (A, AAAA, or NODATA for other types, never
 * forwarded); a name under a known suffix but not in the table is NXDOMAIN; every other name is
 * forwarded upstream ({@link UpstreamLookup}), at most {@code max_pending_lookups} at a time (more
 * are REFUSED at once, as CoreDNS's forwarder does) and answered SERVFAIL when no upstream answers
 * within {@code resolver_timeout}. Only class IN is answered from the table.
 */
final class DnsFilter {
  private static final Logger log = LoggerFactory.getLogger(DnsFilter.class);

  /**
   * What the filter serves now; replaced whole when the config changes, while lookups in flight
   * keep the one they started with.
   */
  record Settings(
      DnsTable table, UpstreamResolvers upstream, boolean tcpUpstream, int maxPending) {}

  /** Where one message came from, and where its answer goes: exactly one call per message. */
  interface Downstream {
    boolean udp();

    EventLoop loop();

    ByteBufAllocator alloc();

    /** Sends a whole DNS message (the transport adds its framing). */
    void send(ByteBuf message);

    /** Nothing is sent for this message. */
    void drop();
  }

  private final Supplier<Settings> settings;
  private final DnsMetrics metrics;
  private final AtomicInteger pending;
  private final RandomGenerator random;
  private final Class<? extends DatagramChannel> udpChannel;
  private final Class<? extends Channel> tcpChannel;

  DnsFilter(
      Supplier<Settings> settings,
      DnsMetrics metrics,
      AtomicInteger pending,
      RandomGenerator random,
      Class<? extends DatagramChannel> udpChannel,
      Class<? extends Channel> tcpChannel) {
    this.settings = settings;
    this.metrics = metrics;
    this.pending = pending;
    this.random = random;
    this.udpChannel = udpChannel;
    this.tcpChannel = tcpChannel;
  }

  void onMessage(byte[] wire, Downstream downstream) {
    String protocol = downstream.udp() ? "udp" : "tcp";
    metrics.received(protocol);
    DownstreamQuery.Outcome outcome = DownstreamQuery.read(wire, downstream.udp());
    if (outcome instanceof DownstreamQuery.Drop drop) {
      metrics.invalid(protocol, drop.reason());
      downstream.drop();
    } else if (outcome instanceof DownstreamQuery.Reject reject) {
      metrics.invalid(protocol, reject.reason());
      log.debug("{} DNS message answered {}: {}", protocol, reject.code(), reject.detail());
      downstream.send(DnsAnswers.rejected(reject, downstream.alloc()));
    } else if (outcome instanceof DownstreamQuery.Accepted accepted) {
      answer(accepted.query(), downstream);
    }
  }

  private void answer(DownstreamQuery query, Downstream downstream) {
    Settings current = settings.get();
    if (current == null) {
      downstream.drop(); // the listener is stopping
      return;
    }
    if (query.edns() != null && query.edns().version() > 0) {
      metrics.invalid(downstream.udp() ? "udp" : "tcp", "badvers");
      downstream.send(DnsAnswers.badVersion(query, downstream.alloc()));
      return;
    }
    if (query.dnsClass() == DownstreamQuery.CLASS_IN) {
      String key = query.key();
      Optional<DnsTable.Entry> entry = current.table().lookup(key);
      if (entry.isPresent()) {
        int limit = downstream.udp() ? query.udpLimit() : UpstreamLookup.MAX_ANSWER_BYTES;
        ByteBuf answer = DnsAnswers.local(query, entry.get(), limit, downstream.alloc());
        boolean empty = answer.getUnsignedShort(6) == 0;
        if ((answer.getUnsignedShort(2) & 0x0200) != 0) {
          metrics.truncated("local");
        }
        metrics.local(query.type(), empty ? "nodata" : "answer");
        downstream.send(answer);
        return;
      }
      if (current.table().underKnownSuffix(key)) {
        metrics.local(query.type(), "nxdomain");
        downstream.send(DnsAnswers.nameError(query, downstream.alloc()));
        return;
      }
    }
    forward(query, current, downstream);
  }

  private void forward(DownstreamQuery query, Settings current, Downstream downstream) {
    if (pending.incrementAndGet() > current.maxPending()) {
      pending.decrementAndGet();
      metrics.unanswered(query.type(), "overflow");
      downstream.send(DnsAnswers.error(query, DnsResponseCode.REFUSED, downstream.alloc()));
      return;
    }
    boolean overTcp = !downstream.udp() || current.tcpUpstream();
    metrics.forwarded(query.type(), overTcp ? "tcp" : "udp");
    new UpstreamLookup(
            downstream.loop(),
            udpChannel,
            tcpChannel,
            current.upstream(),
            random,
            query,
            overTcp,
            metrics,
            new UpstreamLookup.Outcome() {
              @Override
              public void answered(byte[] answer) {
                pending.decrementAndGet();
                metrics.relayed(query.type(), DownstreamQuery.u16(answer, 2) & 0xF);
                if (downstream.udp() && answer.length > query.udpLimit()) {
                  metrics.truncated("external");
                  downstream.send(DnsAnswers.truncated(query, answer, downstream.alloc()));
                } else {
                  downstream.send(Unpooled.wrappedBuffer(answer));
                }
              }

              @Override
              public void failed(String reason) {
                pending.decrementAndGet();
                metrics.unanswered(query.type(), reason);
                log.debug("{} not answered upstream: {}", query, reason);
                downstream.send(
                    DnsAnswers.error(query, DnsResponseCode.SERVFAIL, downstream.alloc()));
              }
            })
        .start();
  }
}
