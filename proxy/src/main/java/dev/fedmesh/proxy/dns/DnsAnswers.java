package dev.fedmesh.proxy.dns;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.dns.AbstractDnsOptPseudoRrRecord;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DefaultDnsResponse;
import io.netty.handler.codec.dns.DnsOpCode;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordEncoder;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * The answers the sidecar writes itself, as Netty DNS messages encoded with Netty's record encoder:
 * table answers (A and AAAA; NODATA for other types; NXDOMAIN under a known suffix), error replies,
 * and the truncated stand-in for an upstream answer too large for a UDP client. Local answers are
 * authoritative (AA) with recursion available (RA), echo the question and the client's RD bit, and
 * carry an OPT record ({@value #UDP_PAYLOAD_SIZE} bytes) when the client sent one. An answer that
 * would exceed the client's UDP limit keeps the records that fit and sets TC (RFC 2181 9), so the
 * client asks again over TCP.
 */
final class DnsAnswers {
  /**
   * The UDP payload size fedmesh announces and the most it sends a UDP client. DNS flag day 2020's
   * 1232 avoids IP fragmentation on real links; the sidecar's clients are in its own pod, on
   * loopback, so the classic EDNS(0) 4096 costs nothing and saves TCP retries.
   */
  static final int UDP_PAYLOAD_SIZE = 4096;

  /** RFC 6891's BADVERS (16): an extended code, its upper eight bits in the OPT record. */
  private static final int BADVERS_EXTENDED = 16 >> 4;

  private DnsAnswers() {}

  /**
   * The answer from a table entry: A or AAAA records for those types, none (NODATA) for any other
   * type, within {@code limit} bytes.
   */
  static ByteBuf local(
      DownstreamQuery query, DnsTable.Entry entry, int limit, ByteBufAllocator alloc) {
    List<? extends InetAddress> addresses =
        query.type() == DnsRecordType.A.intValue()
            ? entry.ipv4()
            : query.type() == DnsRecordType.AAAA.intValue() ? entry.ipv6() : List.of();
    DnsResponse response = reply(query, DnsResponseCode.NOERROR, true);
    for (InetAddress address : addresses) {
      response.addRecord(
          DnsSection.ANSWER,
          new DefaultDnsRawRecord(
              query.name(),
              DnsRecordType.valueOf(query.type()),
              entry.ttlSeconds(),
              Unpooled.wrappedBuffer(address.getAddress())));
    }
    return fitted(response, limit, alloc);
  }

  /** NXDOMAIN for a name under a known suffix that the table does not hold. */
  static ByteBuf nameError(DownstreamQuery query, ByteBufAllocator alloc) {
    return encodeAndRelease(reply(query, DnsResponseCode.NXDOMAIN, true), alloc);
  }

  /** An error reply with no records: SERVFAIL, REFUSED, or BADVERS for EDNS beyond version 0. */
  static ByteBuf error(DownstreamQuery query, DnsResponseCode code, ByteBufAllocator alloc) {
    return encodeAndRelease(reply(query, code, false), alloc);
  }

  /** The reply to EDNS beyond version 0 (RFC 6891 6.1.3): BADVERS, our version 0 in the OPT. */
  static ByteBuf badVersion(DownstreamQuery query, ByteBufAllocator alloc) {
    DnsResponse response = new DefaultDnsResponse(query.id(), DnsOpCode.QUERY);
    response.setRecursionDesired(query.recursionDesired()).setRecursionAvailable(true);
    question(query).ifPresent(q -> response.addRecord(DnsSection.QUESTION, q));
    response.addRecord(DnsSection.ADDITIONAL, opt(BADVERS_EXTENDED));
    return encodeAndRelease(response, alloc);
  }

  /** The reply to a message {@link DownstreamQuery#read} refused but whose header it read. */
  static ByteBuf rejected(DownstreamQuery.Reject reject, ByteBufAllocator alloc) {
    DnsResponse response =
        new DefaultDnsResponse(reject.id(), DnsOpCode.valueOf(reject.opCode()), reject.code());
    response.setRecursionDesired(reject.recursionDesired()).setRecursionAvailable(true);
    if (reject.query() != null) {
      question(reject.query()).ifPresent(q -> response.addRecord(DnsSection.QUESTION, q));
      if (reject.query().edns() != null) {
        response.addRecord(DnsSection.ADDITIONAL, opt(0));
      }
    }
    return encodeAndRelease(response, alloc);
  }

  /**
   * The stand-in for an upstream answer larger than a UDP client takes: the upstream's header (AA,
   * RD, RA and code) with TC set, the client's question and, if it sent one, an OPT record.
   */
  static ByteBuf truncated(DownstreamQuery query, byte[] upstream, ByteBufAllocator alloc) {
    int flags = DownstreamQuery.u16(upstream, 2);
    DnsResponse response =
        new DefaultDnsResponse(query.id(), DnsOpCode.QUERY, DnsResponseCode.valueOf(flags & 0xF));
    response
        .setAuthoritativeAnswer((flags & 0x0400) != 0)
        .setTruncated(true)
        .setRecursionDesired((flags & 0x0100) != 0)
        .setRecursionAvailable((flags & 0x0080) != 0);
    question(query).ifPresent(q -> response.addRecord(DnsSection.QUESTION, q));
    if (query.edns() != null) {
      response.addRecord(DnsSection.ADDITIONAL, opt(0));
    }
    return encodeAndRelease(response, alloc);
  }

  private static DnsResponse reply(
      DownstreamQuery query, DnsResponseCode code, boolean authoritative) {
    DnsResponse response = new DefaultDnsResponse(query.id(), DnsOpCode.QUERY, code);
    response
        .setAuthoritativeAnswer(authoritative)
        .setRecursionDesired(query.recursionDesired())
        .setRecursionAvailable(true);
    question(query).ifPresent(q -> response.addRecord(DnsSection.QUESTION, q));
    if (query.edns() != null) {
      response.addRecord(DnsSection.ADDITIONAL, opt(0));
    }
    return response;
  }

  /**
   * The question to echo, as the client wrote it. A name Netty's string model cannot carry (a label
   * holding a dot or a byte that is not printable ASCII) is left out: QDCOUNT 0, which RFC 1035
   * permits; such names never match the table, so only error replies lose it.
   */
  private static Optional<DnsQuestion> question(DownstreamQuery query) {
    if (!query.plainName()) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          new DefaultDnsQuestion(
              query.name().equals(".") ? "." : query.name() + ".",
              DnsRecordType.valueOf(query.type()),
              query.dnsClass()));
    } catch (IllegalArgumentException e) {
      return Optional.empty(); // a name java.net.IDN refuses
    }
  }

  private static DnsRecord opt(int extendedRcode) {
    return new AbstractDnsOptPseudoRrRecord(UDP_PAYLOAD_SIZE, extendedRcode, 0) {};
  }

  /** Encodes, dropping answers from the end (and setting TC) until the message fits. */
  private static ByteBuf fitted(DnsResponse response, int limit, ByteBufAllocator alloc) {
    try {
      ByteBuf encoded = encode(response, alloc);
      while (encoded.readableBytes() > limit && response.count(DnsSection.ANSWER) > 0) {
        encoded.release();
        DnsRecord dropped =
            response.removeRecord(DnsSection.ANSWER, response.count(DnsSection.ANSWER) - 1);
        ReferenceCountUtil.release(dropped);
        response.setTruncated(true);
        encoded = encode(response, alloc);
      }
      return encoded;
    } finally {
      response.release();
    }
  }

  private static ByteBuf encodeAndRelease(DnsResponse response, ByteBufAllocator alloc) {
    try {
      return encode(response, alloc);
    } finally {
      response.release();
    }
  }

  /**
   * A response in wire form: the 12-byte header (RFC 1035 4.1.1), then each section's records
   * through Netty's {@link DnsRecordEncoder#DEFAULT}.
   */
  static ByteBuf encode(DnsResponse response, ByteBufAllocator alloc) {
    ByteBuf out = alloc.buffer(512);
    try {
      out.writeShort(response.id());
      int flags = 0x8000 | (response.opCode().byteValue() & 0xF) << 11;
      flags |= response.isAuthoritativeAnswer() ? 0x0400 : 0;
      flags |= response.isTruncated() ? 0x0200 : 0;
      flags |= response.isRecursionDesired() ? 0x0100 : 0;
      flags |= response.isRecursionAvailable() ? 0x0080 : 0;
      flags |= response.code().intValue() & 0xF;
      out.writeShort(flags);
      for (DnsSection section : DnsSection.values()) {
        out.writeShort(response.count(section));
      }
      for (int i = 0; i < response.count(DnsSection.QUESTION); i++) {
        DnsRecordEncoder.DEFAULT.encodeQuestion(
            response.<DnsQuestion>recordAt(DnsSection.QUESTION, i), out);
      }
      for (DnsSection section :
          List.of(DnsSection.ANSWER, DnsSection.AUTHORITY, DnsSection.ADDITIONAL)) {
        for (int i = 0; i < response.count(section); i++) {
          DnsRecordEncoder.DEFAULT.encodeRecord(response.recordAt(section, i), out);
        }
      }
      return out;
    } catch (Exception e) {
      out.release();
      throw new IllegalStateException("DNS answer could not be encoded: " + e.getMessage(), e);
    }
  }
}
