package dev.fedmesh.model;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/** An IPv4 or IPv6 network in CIDR notation ({@code 10.1.0.0/16}, {@code fd00::/8}). */
public final class Cidr {
  private final byte[] network;
  private final int prefixLength;
  private final String text;

  private Cidr(byte[] network, int prefixLength, String text) {
    this.network = network;
    this.prefixLength = prefixLength;
    this.text = text;
  }

  /**
   * @throws IllegalArgumentException naming the text and the expectation when it is no CIDR
   */
  public static Cidr parse(String text) {
    requireNonNull(text, "text");
    int slash = text.indexOf('/');
    String problem = "'" + text + "' (expected: an address/prefix such as 10.1.0.0/16)";
    if (slash <= 0 || !Addresses.isIpLiteral(text.substring(0, slash))) {
      throw new IllegalArgumentException(problem);
    }
    byte[] address = literal(text.substring(0, slash));
    int prefix;
    try {
      prefix = Integer.parseInt(text.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(problem);
    }
    if (prefix < 0 || prefix > address.length * 8) {
      throw new IllegalArgumentException(
          "'" + text + "' (expected: a prefix length of 0 to " + address.length * 8 + ")");
    }
    return new Cidr(mask(address, prefix), prefix, text);
  }

  /** Whether {@code address} (an IP literal) lies in this network; false for anything else. */
  public boolean contains(String address) {
    if (address == null || !Addresses.isIpLiteral(address)) {
      return false;
    }
    byte[] bytes;
    try {
      bytes = literal(address);
    } catch (IllegalArgumentException e) {
      return false;
    }
    return bytes.length == network.length && Arrays.equals(mask(bytes, prefixLength), network);
  }

  private static byte[] literal(String address) {
    try {
      // An IP literal: getByName parses it without a lookup.
      return InetAddress.getByName(address).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("'" + address + "' (expected: an IP address)", e);
    }
  }

  private static byte[] mask(byte[] address, int prefix) {
    byte[] masked = address.clone();
    for (int bit = prefix; bit < masked.length * 8; bit++) {
      masked[bit / 8] &= (byte) ~(0x80 >> (bit % 8));
    }
    return masked;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Cidr cidr
        && prefixLength == cidr.prefixLength
        && Arrays.equals(network, cidr.network);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(network) + prefixLength;
  }

  @Override
  public String toString() {
    return text;
  }
}
