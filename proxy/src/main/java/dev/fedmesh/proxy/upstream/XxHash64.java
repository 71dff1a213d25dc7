package dev.fedmesh.proxy.upstream;

import java.nio.charset.StandardCharsets;

/**
 * XXH64, the hash Envoy uses for request hash keys and to place hosts on a ring or in a Maglev
 * table; the same function keeps our choices comparable with Envoy's for the same keys and hosts.
 */
public final class XxHash64 {
  private static final long P1 = 0x9E3779B185EBCA87L;
  private static final long P2 = 0xC2B2AE3D27D4EB4FL;
  private static final long P3 = 0x165667B19E3779F9L;
  private static final long P4 = 0x85EBCA77C2B2AE63L;
  private static final long P5 = 0x27D4EB2F165667C5L;

  private XxHash64() {}

  /** The hash of {@code value}'s UTF-8 bytes, seed 0. */
  public static long hash(String value) {
    return hash(value.getBytes(StandardCharsets.UTF_8), 0);
  }

  /** The hash of {@code data} with {@code seed}. */
  public static long hash(byte[] data, long seed) {
    int length = data.length;
    int i = 0;
    long h;
    if (length >= 32) {
      long v1 = seed + P1 + P2;
      long v2 = seed + P2;
      long v3 = seed;
      long v4 = seed - P1;
      int limit = length - 32;
      do {
        v1 = round(v1, readLong(data, i));
        v2 = round(v2, readLong(data, i + 8));
        v3 = round(v3, readLong(data, i + 16));
        v4 = round(v4, readLong(data, i + 24));
        i += 32;
      } while (i <= limit);
      h =
          Long.rotateLeft(v1, 1)
              + Long.rotateLeft(v2, 7)
              + Long.rotateLeft(v3, 12)
              + Long.rotateLeft(v4, 18);
      h = merge(h, v1);
      h = merge(h, v2);
      h = merge(h, v3);
      h = merge(h, v4);
    } else {
      h = seed + P5;
    }
    h += length;
    while (i + 8 <= length) {
      h ^= round(0, readLong(data, i));
      h = Long.rotateLeft(h, 27) * P1 + P4;
      i += 8;
    }
    if (i + 4 <= length) {
      h ^= (readInt(data, i) & 0xFFFFFFFFL) * P1;
      h = Long.rotateLeft(h, 23) * P2 + P3;
      i += 4;
    }
    while (i < length) {
      h ^= (data[i] & 0xFFL) * P5;
      h = Long.rotateLeft(h, 11) * P1;
      i++;
    }
    h ^= h >>> 33;
    h *= P2;
    h ^= h >>> 29;
    h *= P3;
    h ^= h >>> 32;
    return h;
  }

  private static long round(long acc, long input) {
    acc += input * P2;
    acc = Long.rotateLeft(acc, 31);
    return acc * P1;
  }

  private static long merge(long acc, long value) {
    acc ^= round(0, value);
    return acc * P1 + P4;
  }

  private static long readLong(byte[] data, int i) {
    return (data[i] & 0xFFL)
        | (data[i + 1] & 0xFFL) << 8
        | (data[i + 2] & 0xFFL) << 16
        | (data[i + 3] & 0xFFL) << 24
        | (data[i + 4] & 0xFFL) << 32
        | (data[i + 5] & 0xFFL) << 40
        | (data[i + 6] & 0xFFL) << 48
        | (data[i + 7] & 0xFFL) << 56;
  }

  private static int readInt(byte[] data, int i) {
    return (data[i] & 0xFF)
        | (data[i + 1] & 0xFF) << 8
        | (data[i + 2] & 0xFF) << 16
        | (data[i + 3] & 0xFF) << 24;
  }
}
