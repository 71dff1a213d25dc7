package dev.fedmesh.gateway;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads the server name (SNI, RFC 6066 section 3) from a TLS ClientHello body, the bytes after the
 * handshake header (RFC 8446 section 4.1.2). Only reads: the hello is forwarded as it came.
 */
final class ClientHello {
  private static final int SERVER_NAME_EXTENSION = 0;
  private static final int HOST_NAME = 0;
  private static final int MAX_HOST_NAME = 255;

  private ClientHello() {}

  /**
   * The host name the client asked for, lower-cased, or empty when the hello carries no server name
   * extension.
   *
   * @throws IllegalArgumentException naming what is wrong when the hello is malformed: a length
   *     runs past its end, or the server name is not a DNS host name
   */
  static Optional<String> serverName(ByteBuf body) {
    Reader in = new Reader(body);
    in.skip(2, "legacy_version");
    in.skip(32, "random");
    in.skip(in.u8("legacy_session_id length"), "legacy_session_id");
    int cipherSuites = in.u16("cipher_suites length");
    if (cipherSuites < 2 || cipherSuites % 2 != 0) {
      throw new IllegalArgumentException(
          "cipher_suites length: " + cipherSuites + " (expected: even and >= 2)");
    }
    in.skip(cipherSuites, "cipher_suites");
    in.skip(in.u8("legacy_compression_methods length"), "legacy_compression_methods");
    if (in.remaining() == 0) {
      return Optional.empty(); // TLS 1.2 and earlier allow a hello without extensions
    }
    Reader extensions = in.sub(in.u16("extensions length"), "extensions");
    while (extensions.remaining() > 0) {
      int type = extensions.u16("extension type");
      Reader data = extensions.sub(extensions.u16("extension length"), "extension " + type);
      if (type != SERVER_NAME_EXTENSION) {
        continue;
      }
      Reader names = data.sub(data.u16("server_name_list length"), "server_name_list");
      while (names.remaining() > 0) {
        int nameType = names.u8("name_type");
        int length = names.u16("server name length");
        String name = names.ascii(length, "server name");
        if (nameType == HOST_NAME) {
          return Optional.of(checkHostName(name));
        }
      }
      return Optional.empty();
    }
    return Optional.empty();
  }

  private static String checkHostName(String name) {
    if (name.isEmpty() || name.length() > MAX_HOST_NAME) {
      throw new IllegalArgumentException(
          "server name length: " + name.length() + " (expected: 1.." + MAX_HOST_NAME + ")");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '-'
              || c == '.'
              || c == '_';
      if (!ok) {
        throw new IllegalArgumentException(
            "server name: character 0x"
                + Integer.toHexString(c)
                + " at "
                + i
                + " (expected: letters, digits, '-', '_' and '.')");
      }
    }
    return name.toLowerCase(Locale.ROOT);
  }

  /** Bounds-checked reads from [offset, end) of a buffer, leaving its indexes alone. */
  private static final class Reader {
    private final ByteBuf buf;
    private int offset;
    private final int end;

    Reader(ByteBuf buf) {
      this(buf, buf.readerIndex(), buf.writerIndex());
    }

    private Reader(ByteBuf buf, int offset, int end) {
      this.buf = buf;
      this.offset = offset;
      this.end = end;
    }

    int remaining() {
      return end - offset;
    }

    private void need(int length, String field) {
      if (length > remaining()) {
        throw new IllegalArgumentException(
            field + ": " + length + " bytes (expected: at most the " + remaining() + " left)");
      }
    }

    int u8(String field) {
      need(1, field);
      return buf.getUnsignedByte(offset++);
    }

    int u16(String field) {
      need(2, field);
      int value = buf.getUnsignedShort(offset);
      offset += 2;
      return value;
    }

    void skip(int length, String field) {
      need(length, field);
      offset += length;
    }

    Reader sub(int length, String field) {
      need(length, field);
      Reader sub = new Reader(buf, offset, offset + length);
      offset += length;
      return sub;
    }

    String ascii(int length, String field) {
      need(length, field);
      String value = buf.toString(offset, length, StandardCharsets.ISO_8859_1);
      offset += length;
      return value;
    }
  }
}
