package dev.fedmesh.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.StandardConstants;

/** Real ClientHellos, as the JDK's TLS client sends them, and variations of them. */
final class TlsHellos {
  static final int RECORD_HEADER = 5;
  static final int HANDSHAKE_HEADER = 4;

  private TlsHellos() {}

  /** The first flight of a JDK TLS client: one handshake record holding a ClientHello. */
  static byte[] record(String serverName) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, null, null);
      SSLEngine engine = context.createSSLEngine();
      engine.setUseClientMode(true);
      SSLParameters parameters = engine.getSSLParameters();
      parameters.setServerNames(serverName == null ? List.of() : List.of(hostName(serverName)));
      engine.setSSLParameters(parameters);
      ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
      engine.wrap(ByteBuffer.allocate(0), out);
      out.flip();
      byte[] bytes = new byte[out.remaining()];
      out.get(bytes);
      if (bytes[0] != 22 || bytes[RECORD_HEADER] != 1) {
        throw new IllegalStateException("not a ClientHello record");
      }
      return bytes;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A host_name server name as it is sent, unchecked. The JDK's {@code SNIHostName} refuses names
   * with underscores, such as Istio's {@code outbound_.<port>_.<subset>_.<fqdn>}, though they are
   * valid SNI (RFC 6066 asks for a host name, and TLS stacks such as BoringSSL send and accept
   * them); a plain {@code SNIServerName} of type host_name goes out as given.
   */
  static SNIServerName hostName(String name) {
    return new SNIServerName(
        StandardConstants.SNI_HOST_NAME, name.getBytes(StandardCharsets.US_ASCII)) {};
  }

  /** The ClientHello body of a one-record hello: what {@link ClientHello} reads. */
  static ByteBuf body(byte[] record) {
    return Unpooled.wrappedBuffer(
        Arrays.copyOfRange(record, RECORD_HEADER + HANDSHAKE_HEADER, record.length));
  }

  /** The same handshake message carried in two records, split {@code at} bytes into it. */
  static byte[] inTwoRecords(byte[] record, int at) {
    byte[] message = Arrays.copyOfRange(record, RECORD_HEADER, record.length);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writeRecord(out, record, Arrays.copyOfRange(message, 0, at));
    writeRecord(out, record, Arrays.copyOfRange(message, at, message.length));
    return out.toByteArray();
  }

  private static void writeRecord(ByteArrayOutputStream out, byte[] template, byte[] fragment) {
    out.write(template[0]);
    out.write(template[1]);
    out.write(template[2]);
    out.write(fragment.length >> 8);
    out.write(fragment.length & 0xff);
    out.writeBytes(fragment);
  }

  /** A handshake record whose ClientHello header claims {@code claimedLength} bytes. */
  static byte[] claimingLength(int claimedLength) {
    byte[] fragment = new byte[200];
    fragment[0] = 1; // client_hello
    fragment[1] = (byte) (claimedLength >> 16);
    fragment[2] = (byte) (claimedLength >> 8);
    fragment[3] = (byte) claimedLength;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writeRecord(out, new byte[] {22, 3, 1}, fragment);
    return out.toByteArray();
  }
}
