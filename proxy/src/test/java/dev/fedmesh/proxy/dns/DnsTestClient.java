package dev.fedmesh.proxy.dns;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.dns.DatagramDnsResponseDecoder;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsSection;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A DNS client for tests: builds queries byte by byte (so tests can also build broken ones), sends
 * them over UDP or TCP on loopback, and reads answers with Netty's own response decoder, an
 * independent check of what the listener wrote.
 */
public final class DnsTestClient {
  public static final int A = 1;
  public static final int AAAA = 28;
  public static final int MX = 15;
  public static final int TXT = 16;
  public static final int SRV = 33;
  public static final int ANY = 255;

  private DnsTestClient() {}

  /** A query with RD set and one question, optionally with an EDNS(0) OPT record. */
  public static byte[] query(int id, String name, int type, Integer ednsPayloadSize) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    try {
      out.writeShort(id);
      out.writeShort(0x0100);
      out.writeShort(1);
      out.writeShort(0);
      out.writeShort(0);
      out.writeShort(ednsPayloadSize == null ? 0 : 1);
      out.write(name(name));
      out.writeShort(type);
      out.writeShort(1);
      if (ednsPayloadSize != null) {
        out.writeByte(0);
        out.writeShort(41);
        out.writeShort(ednsPayloadSize);
        out.writeInt(0);
        out.writeShort(0);
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return bytes.toByteArray();
  }

  public static byte[] query(int id, String name, int type) {
    return query(id, name, type, null);
  }

  /** A name in wire form, uncompressed. */
  public static byte[] name(String name) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String label : name.split("\\.")) {
      if (!label.isEmpty()) {
        byte[] bytes = label.getBytes(StandardCharsets.US_ASCII);
        out.write(bytes.length);
        out.writeBytes(bytes);
      }
    }
    out.write(0);
    return out.toByteArray();
  }

  /** Sends one datagram and returns the first datagram that comes back (5 s at most). */
  public static byte[] udpExchange(InetSocketAddress server, byte[]... messages)
      throws IOException {
    try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
      socket.setSoTimeout(5000);
      for (byte[] message : messages) {
        socket.send(new java.net.DatagramPacket(message, message.length, server));
      }
      java.net.DatagramPacket received = new java.net.DatagramPacket(new byte[65535], 65535);
      socket.receive(received);
      return Arrays.copyOf(received.getData(), received.getLength());
    }
  }

  public static Answer udp(InetSocketAddress server, byte[] query) throws IOException {
    return decode(udpExchange(server, query));
  }

  /** Sends each message with its length prefix on one connection; reads as many answers. */
  public static List<Answer> tcp(InetSocketAddress server, byte[]... queries) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(server, 5000);
      socket.setSoTimeout(5000);
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      for (byte[] query : queries) {
        out.writeShort(query.length);
        out.write(query);
      }
      out.flush();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      List<Answer> answers = new ArrayList<>();
      for (int i = 0; i < queries.length; i++) {
        byte[] answer = new byte[in.readUnsignedShort()];
        in.readFully(answer);
        answers.add(decode(answer));
      }
      return answers;
    }
  }

  /**
   * An answer as Netty's decoder reads it.
   *
   * @param questions each question as {@code name TYPE}, the name as written
   * @param addresses the A and AAAA answers' addresses, in order
   * @param ttls the answers' TTLs
   * @param optPayloadSize the OPT record's UDP size, or -1 without one
   * @param optExtendedRcode the OPT record's extended code bits, or -1 without one
   */
  public record Answer(
      byte[] wire,
      int id,
      boolean authoritative,
      boolean truncated,
      boolean recursionDesired,
      boolean recursionAvailable,
      int rcode,
      List<String> questions,
      int answerCount,
      List<String> addresses,
      List<Long> ttls,
      int optPayloadSize,
      int optExtendedRcode) {}

  public static Answer decode(byte[] wire) {
    EmbeddedChannel channel = new EmbeddedChannel(new DatagramDnsResponseDecoder());
    try {
      InetSocketAddress any = new InetSocketAddress("127.0.0.1", 53);
      channel.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(wire), any, any));
      DnsResponse response = channel.readInbound();
      try {
        List<String> questions = new ArrayList<>();
        for (int i = 0; i < response.count(DnsSection.QUESTION); i++) {
          DnsRecord question = response.recordAt(DnsSection.QUESTION, i);
          questions.add(question.name() + " " + question.type().name());
        }
        List<String> addresses = new ArrayList<>();
        List<Long> ttls = new ArrayList<>();
        for (int i = 0; i < response.count(DnsSection.ANSWER); i++) {
          DnsRecord record = response.recordAt(DnsSection.ANSWER, i);
          ttls.add(record.timeToLive());
          if ((record.type() == DnsRecordType.A || record.type() == DnsRecordType.AAAA)
              && record instanceof DnsRawRecord raw) {
            addresses.add(
                InetAddress.getByAddress(ByteBufUtil.getBytes(raw.content())).getHostAddress());
          }
        }
        int optSize = -1;
        int optExtended = -1;
        for (int i = 0; i < response.count(DnsSection.ADDITIONAL); i++) {
          DnsRecord record = response.recordAt(DnsSection.ADDITIONAL, i);
          if (record.type() == DnsRecordType.OPT) {
            optSize = record.dnsClass();
            optExtended = (int) ((record.timeToLive() >> 24) & 0xFF);
          }
        }
        return new Answer(
            wire,
            response.id(),
            response.isAuthoritativeAnswer(),
            response.isTruncated(),
            response.isRecursionDesired(),
            response.isRecursionAvailable(),
            response.code().intValue(),
            questions,
            response.count(DnsSection.ANSWER),
            addresses,
            ttls,
            optSize,
            optExtended);
      } finally {
        response.release();
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    } finally {
      channel.finishAndReleaseAll();
    }
  }
}
