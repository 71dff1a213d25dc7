package dev.fedmesh.proxy.dns;

import io.netty.handler.codec.dns.DnsResponseCode;
import java.util.Arrays;
import java.util.Locale;

/**
 * A query as a client sent it, read from its wire bytes by RFC 1035's rules with every length
 * checked, so that no input can make the listener crash, loop or read past the message. What it
 * cannot take is sorted into {@link Drop} (nothing is answered: no header to answer, or not a
 * query) and {@link Reject} (answered with the code given, the header being readable).
 *
 * <p>Limits: a query of more than {@value #MAX_QUERY_BYTES} bytes on any transport, or more than
 * 512 bytes over UDP without an EDNS(0) OPT record (RFC 1035 4.2.1, RFC 6891 6.2.5), is answered
 * FORMERR. Exactly one question (QDCOUNT 1); only the QUERY opcode (others: NOTIMP); at most one
 * OPT record, owned by the root; no bytes after the last record.
 *
 * @param wire the message as received (not copied: do not change it)
 * @param id the client's query ID
 * @param recursionDesired the RD bit, copied into the answer
 * @param name the question's name as sent (case kept), dotted without the trailing dot, {@code "."}
 *     for the root; labels with bytes that are not printable ASCII or hold a dot are escaped as in
 *     presentation format ({@code \.}, {@code \DDD})
 * @param plainName whether {@code name} needed no escape, so that Netty's codec can write it back
 * @param type the question's type
 * @param dnsClass the question's class
 * @param questionEnd the offset just past the question (12 + name + 4)
 * @param edns the client's EDNS(0) OPT record, or null
 */
record DownstreamQuery(
    byte[] wire,
    int id,
    boolean recursionDesired,
    String name,
    boolean plainName,
    int type,
    int dnsClass,
    int questionEnd,
    Edns edns) {

  static final int HEADER_BYTES = 12;

  /** The largest query taken on either transport; real queries are a few hundred bytes. */
  static final int MAX_QUERY_BYTES = 4096;

  /** RFC 1035's UDP limit, for messages without EDNS(0). */
  static final int CLASSIC_UDP_BYTES = 512;

  static final int TYPE_OPT = 41;
  static final int CLASS_IN = 1;

  /** At most this many compression pointers in one name (RFC 1035 allows any; loops need more). */
  private static final int MAX_POINTERS = 64;

  /** An EDNS(0) OPT record (RFC 6891): the client's UDP payload size, version and DO bit. */
  record Edns(int udpPayloadSize, int version, boolean dnssecOk) {}

  /** What reading a message gave. */
  sealed interface Outcome permits Accepted, Drop, Reject {}

  /** A query to answer. */
  record Accepted(DownstreamQuery query) implements Outcome {}

  /** Not answered at all. {@code reason} is a metric label: {@code short} or {@code response}. */
  record Drop(String reason) implements Outcome {}

  /**
   * Answered with {@code code} and no records. {@code query} is the question to echo when it was
   * read, else null. {@code reason} is a metric label ({@code malformed}, {@code oversized}, {@code
   * qdcount}, {@code opcode}); {@code detail} says what was wrong, for the debug log.
   */
  record Reject(
      int id,
      int opCode,
      boolean recursionDesired,
      DnsResponseCode code,
      String reason,
      String detail,
      DownstreamQuery query)
      implements Outcome {}

  /** Reads one message; {@code udp} applies the 512-byte rule for clients without EDNS(0). */
  static Outcome read(byte[] wire, boolean udp) {
    if (wire.length < HEADER_BYTES) {
      return new Drop("short");
    }
    int id = u16(wire, 0);
    int flags = u16(wire, 2);
    if ((flags & 0x8000) != 0) {
      return new Drop("response");
    }
    int opCode = (flags >> 11) & 0xF;
    boolean rd = (flags & 0x0100) != 0;
    if (wire.length > MAX_QUERY_BYTES) {
      return new Reject(
          id,
          opCode,
          rd,
          DnsResponseCode.FORMERR,
          "oversized",
          wire.length + " bytes (expected: at most " + MAX_QUERY_BYTES + ")",
          null);
    }
    if (opCode != 0) {
      return new Reject(
          id,
          opCode,
          rd,
          DnsResponseCode.NOTIMP,
          "opcode",
          "opcode " + opCode + " (expected: 0, QUERY)",
          null);
    }
    int questions = u16(wire, 4);
    if (questions != 1) {
      return new Reject(
          id,
          opCode,
          rd,
          DnsResponseCode.FORMERR,
          "qdcount",
          "QDCOUNT " + questions + " (expected: 1)",
          null);
    }
    Cursor cursor = new Cursor(wire);
    try {
      cursor.position = HEADER_BYTES;
      Name name = cursor.name();
      int type = cursor.u16();
      int dnsClass = cursor.u16();
      int questionEnd = cursor.position;
      int answers = u16(wire, 6);
      int authorities = u16(wire, 8);
      int additionals = u16(wire, 10);
      for (int i = 0; i < answers + authorities; i++) {
        cursor.name();
        cursor.skip(8); // type, class, TTL
        cursor.skip(cursor.u16());
      }
      Edns edns = null;
      for (int i = 0; i < additionals; i++) {
        Name owner = cursor.name();
        int recordType = cursor.u16();
        int recordClass = cursor.u16();
        int ttl = cursor.u32();
        cursor.skip(cursor.u16());
        if (recordType == TYPE_OPT) {
          if (edns != null) {
            throw new Malformed("two OPT records (expected: at most one, RFC 6891 6.1.1)");
          }
          if (!owner.text.equals(".")) {
            throw new Malformed("OPT record owned by '" + owner.text + "' (expected: the root)");
          }
          edns =
              new Edns(
                  Math.max(CLASSIC_UDP_BYTES, recordClass),
                  (ttl >>> 16) & 0xFF,
                  (ttl & 0x8000) != 0);
        }
      }
      if (cursor.position != wire.length) {
        throw new Malformed(
            (wire.length - cursor.position) + " bytes after the last record (expected: none)");
      }
      DownstreamQuery query =
          new DownstreamQuery(
              wire, id, rd, name.text, name.plain, type, dnsClass, questionEnd, edns);
      if (udp && edns == null && wire.length > CLASSIC_UDP_BYTES) {
        return new Reject(
            id,
            opCode,
            rd,
            DnsResponseCode.FORMERR,
            "oversized",
            wire.length + " bytes over UDP without EDNS(0) (expected: at most 512)",
            query);
      }
      return new Accepted(query);
    } catch (Malformed e) {
      return new Reject(id, opCode, rd, DnsResponseCode.FORMERR, "malformed", e.getMessage(), null);
    }
  }

  /**
   * The name as the table keys it: ASCII letters in lower case (RFC 4343: names compare without
   * case), no trailing dot.
   */
  String key() {
    return name.toLowerCase(Locale.ROOT);
  }

  /** The question section's bytes (name, type, class), as sent. */
  byte[] questionBytes() {
    return Arrays.copyOfRange(wire, HEADER_BYTES, questionEnd);
  }

  /** The largest answer this client takes over UDP: 512, or its EDNS(0) size up to ours. */
  int udpLimit() {
    return edns == null
        ? CLASSIC_UDP_BYTES
        : Math.min(Math.max(CLASSIC_UDP_BYTES, edns.udpPayloadSize()), DnsAnswers.UDP_PAYLOAD_SIZE);
  }

  static int u16(byte[] wire, int offset) {
    return ((wire[offset] & 0xFF) << 8) | (wire[offset + 1] & 0xFF);
  }

  @Override
  public String toString() {
    return "query " + id + " " + name + " type " + type;
  }

  private record Name(String text, boolean plain) {}

  private static final class Malformed extends Exception {
    Malformed(String message) {
      super(message, null, false, false);
    }
  }

  /** Reads fields with bounds checks; any read past the end is {@link Malformed}. */
  private static final class Cursor {
    private final byte[] wire;
    private int position;

    Cursor(byte[] wire) {
      this.wire = wire;
    }

    int u16() throws Malformed {
      need(2);
      int value = DownstreamQuery.u16(wire, position);
      position += 2;
      return value;
    }

    int u32() throws Malformed {
      int high = u16();
      return (high << 16) | u16();
    }

    void skip(int bytes) throws Malformed {
      need(bytes);
      position += bytes;
    }

    private void need(int bytes) throws Malformed {
      if (position + bytes > wire.length) {
        throw new Malformed("message ends at byte " + wire.length + " inside a record");
      }
    }

    /**
     * A name, following compression pointers (RFC 1035 4.1.4). Each pointer must point before
     * everything read of the name so far and past the header, so every jump goes strictly backwards
     * and a loop is impossible; the name's length is bounded by 255 (RFC 1035 2.3.4).
     */
    Name name() throws Malformed {
      StringBuilder text = new StringBuilder();
      boolean plain = true;
      int at = position;
      int floor = position;
      int resumeAt = -1;
      int length = 1; // the root label
      int pointers = 0;
      while (true) {
        if (at >= wire.length) {
          throw new Malformed("name runs past the end of the message");
        }
        int b = wire[at] & 0xFF;
        if (b == 0) {
          at++;
          break;
        }
        if ((b & 0xC0) == 0xC0) {
          if (at + 1 >= wire.length) {
            throw new Malformed("compression pointer cut off by the end of the message");
          }
          int target = ((b & 0x3F) << 8) | (wire[at + 1] & 0xFF);
          if (target < HEADER_BYTES || target >= floor || ++pointers > MAX_POINTERS) {
            throw new Malformed(
                "compression pointer at byte "
                    + at
                    + " to byte "
                    + target
                    + " (expected: a name earlier in the message; a loop otherwise)");
          }
          if (resumeAt < 0) {
            resumeAt = at + 2;
          }
          at = target;
          floor = target;
          continue;
        }
        if ((b & 0xC0) != 0) {
          throw new Malformed("label type 0x" + Integer.toHexString(b & 0xC0) + " (expected: 0)");
        }
        if (at + 1 + b > wire.length) {
          throw new Malformed("label runs past the end of the message");
        }
        length += 1 + b;
        if (length > 255) {
          throw new Malformed("name longer than 255 bytes");
        }
        if (!text.isEmpty()) {
          text.append('.');
        }
        for (int i = at + 1; i <= at + b; i++) {
          int c = wire[i] & 0xFF;
          if (c == '.' || c == '\\') {
            text.append('\\').append((char) c);
            plain = false;
          } else if (c <= 0x20 || c >= 0x7F) {
            text.append('\\').append(String.format(Locale.ROOT, "%03d", c));
            plain = false;
          } else {
            text.append((char) c);
          }
        }
        at += 1 + b;
      }
      position = resumeAt >= 0 ? resumeAt : at;
      return new Name(text.isEmpty() ? "." : text.toString(), plain);
    }
  }
}
