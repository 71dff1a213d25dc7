package dev.fedmesh.chaos;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A pod's "real" resolver in {@link CrossClusterDnsIT}: a small authoritative UDP DNS server that
 * knows only the names it was given (A records) and answers NXDOMAIN for everything else, so that a
 * mesh name resolving at all proves someone else (the sidecar) answered it. It records every
 * question it gets.
 */
final class UpstreamResolver implements AutoCloseable {
  private final DatagramSocket socket;
  private final Map<String, String> records;
  private final List<String> questions = new CopyOnWriteArrayList<>();
  private final Thread thread;

  private UpstreamResolver(DatagramSocket socket, Map<String, String> records) {
    this.socket = socket;
    this.records = Map.copyOf(records);
    this.thread = new Thread(this::serve, "upstream-resolver");
    thread.setDaemon(true);
    thread.start();
  }

  /** Listens on {@code host}:53 and answers {@code records} (name to IPv4 address). */
  static UpstreamResolver start(String host, Map<String, String> records) throws SocketException {
    return new UpstreamResolver(new DatagramSocket(new InetSocketAddress(host, 53)), records);
  }

  /** Every question received, as {@code name/type}, lower case. */
  List<String> questions() {
    return List.copyOf(questions);
  }

  private void serve() {
    byte[] buffer = new byte[1500];
    while (!socket.isClosed()) {
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      try {
        socket.receive(packet);
        byte[] answer = answer(packet.getData(), packet.getLength());
        if (answer != null) {
          socket.send(new DatagramPacket(answer, answer.length, packet.getSocketAddress()));
        }
      } catch (IOException e) {
        // closed at the end of the test
      }
    }
  }

  private byte[] answer(byte[] query, int length) throws IOException {
    if (length < 12 || (query[2] & 0x80) != 0) {
      return null;
    }
    int offset = 12;
    StringBuilder name = new StringBuilder();
    while (offset < length && query[offset] != 0) {
      int label = query[offset] & 0xFF;
      if (label > 63 || offset + 1 + label > length) {
        return null;
      }
      if (name.length() > 0) {
        name.append('.');
      }
      name.append(new String(query, offset + 1, label, StandardCharsets.US_ASCII));
      offset += 1 + label;
    }
    if (offset + 5 > length) {
      return null;
    }
    int questionEnd = offset + 5;
    int type = ((query[offset + 1] & 0xFF) << 8) | (query[offset + 2] & 0xFF);
    String host = name.toString().toLowerCase(Locale.ROOT);
    questions.add(host + "/" + type);
    String address = records.get(host);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(query, 0, 2); // id
    int rd = query[2] & 0x01;
    out.write(0x84 | rd); // QR, AA, RD as asked
    out.write(address == null ? 0x83 : 0x80); // RA, NXDOMAIN or NOERROR
    boolean withAnswer = address != null && type == 1;
    out.write(new byte[] {0, 1, 0, (byte) (withAnswer ? 1 : 0), 0, 0, 0, 0});
    out.write(query, 12, questionEnd - 12);
    if (withAnswer) {
      out.write(new byte[] {(byte) 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4});
      out.write(InetAddress.getByName(address).getAddress());
    }
    return out.toByteArray();
  }

  @Override
  public void close() {
    socket.close();
    try {
      thread.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
