package dev.fedmesh.proxy.upstream;

import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * The consistent-hash lookup of one priority level: a Ketama ring (Envoy's RING_HASH) or a Maglev
 * table (MAGLEV), built once per host set. A request's hash picks an entry; an entry whose host may
 * not take the request (unhealthy by EDS, ejected, already tried) is passed over by walking on to
 * the next entry, so only the keys of that host move, and they spread over the others.
 */
final class HashTable {
  /** Envoy's defaults and limits. */
  static final long DEFAULT_MIN_RING = 1024;

  static final long DEFAULT_MAX_RING = 8 * 1024 * 1024;
  static final long DEFAULT_MAGLEV_SIZE = 65537;

  private final long[] points; // sorted unsigned; null for a Maglev table
  private final UpstreamHost[] hosts;

  private HashTable(long[] points, UpstreamHost[] hosts) {
    this.points = points;
    this.hosts = hosts;
  }

  /** The key a host is hashed by, Envoy's address string: {@code 10.0.0.1:80}, {@code [::1]:80}. */
  static String key(UpstreamHost host) {
    InetSocketAddress address = host.address();
    String ip =
        address.isUnresolved() || address.getAddress() == null
            ? address.getHostString()
            : NetUtil.toAddressString(address.getAddress());
    return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + address.getPort();
  }

  /**
   * A ring on which each host has {@code minRingSize} points per unit of weight, scaled down when
   * that would pass {@code maxRingSize}. Envoy instead divides the minimum size among the hosts,
   * which changes every host's number of points when one joins or leaves and so moves about twice
   * the keys that must move; a fixed count per host moves only the changed host's share. A point is
   * the XXH64 of {@code "<address>_<i>"}, as Envoy hashes it.
   */
  static HashTable ring(List<UpstreamHost> members, long minRingSize, long maxRingSize) {
    long totalWeight = 0;
    for (UpstreamHost host : members) {
      totalWeight += host.weight();
    }
    if (totalWeight == 0) {
      return new HashTable(new long[0], new UpstreamHost[0]);
    }
    double perWeight = Math.min(minRingSize, (double) maxRingSize / totalWeight);
    int size = 0;
    int[] counts = new int[members.size()];
    for (int i = 0; i < counts.length; i++) {
      counts[i] = (int) Math.max(1, Math.ceil(perWeight * members.get(i).weight()));
      size += counts[i];
    }
    long[] entries = new long[size];
    int[] owners = new int[size];
    String[] keys = new String[counts.length];
    int at = 0;
    for (int h = 0; h < counts.length; h++) {
      keys[h] = key(members.get(h));
      String prefix = keys[h] + "_";
      for (int i = 0; i < counts[h]; i++) {
        entries[at] = XxHash64.hash((prefix + i).getBytes(StandardCharsets.UTF_8), 0);
        owners[at] = h;
        at++;
      }
    }
    Integer[] order = new Integer[size];
    for (int i = 0; i < size; i++) {
      order[i] = i;
    }
    Arrays.sort(
        order,
        (a, b) -> {
          int byHash = Long.compareUnsigned(entries[a], entries[b]);
          // Equal hashes: a fixed order, so that every proxy builds the same ring.
          return byHash != 0 ? byHash : keys[owners[a]].compareTo(keys[owners[b]]);
        });
    long[] points = new long[size];
    UpstreamHost[] hosts = new UpstreamHost[size];
    for (int i = 0; i < size; i++) {
      points[i] = entries[order[i]];
      hosts[i] = members.get(owners[order[i]]);
    }
    return new HashTable(points, hosts);
  }

  /**
   * A Maglev table of {@code size} entries (a prime), filled as Envoy fills it: hosts in address
   * order take turns, by weight, claiming the next free entry of their own permutation (offset
   * XXH64(address) mod size, skip XXH64(address, seed 1) mod (size - 1) + 1).
   */
  static HashTable maglev(List<UpstreamHost> members, int size) {
    List<UpstreamHost> sorted = new ArrayList<>(members);
    sorted.sort(Comparator.comparing(HashTable::key));
    int n = sorted.size();
    if (n == 0) {
      return new HashTable(null, new UpstreamHost[0]);
    }
    long[] offset = new long[n];
    long[] skip = new long[n];
    long[] next = new long[n];
    double[] weight = new double[n];
    double[] target = new double[n];
    double total = 0;
    double max = 0;
    for (UpstreamHost host : sorted) {
      total += host.weight();
    }
    for (int i = 0; i < n; i++) {
      byte[] key = key(sorted.get(i)).getBytes(StandardCharsets.UTF_8);
      offset[i] = Long.remainderUnsigned(XxHash64.hash(key, 0), size);
      skip[i] = Long.remainderUnsigned(XxHash64.hash(key, 1), size - 1) + 1;
      weight[i] = sorted.get(i).weight() / total;
      max = Math.max(max, weight[i]);
    }
    UpstreamHost[] table = new UpstreamHost[size];
    int filled = 0;
    for (long iteration = 1; filled < size; iteration++) {
      for (int i = 0; i < n && filled < size; i++) {
        // A host of the largest weight claims an entry every round; one of a third of it,
        // every third round.
        if (iteration * weight[i] < target[i]) {
          continue;
        }
        target[i] += max;
        int c = (int) ((offset[i] + skip[i] * next[i]) % size);
        while (table[c] != null) {
          next[i]++;
          c = (int) ((offset[i] + skip[i] * next[i]) % size);
        }
        table[c] = sorted.get(i);
        next[i]++;
        filled++;
      }
    }
    return new HashTable(null, table);
  }

  int size() {
    return hosts.length;
  }

  /**
   * The host for {@code hash}: the entry it lands on, else the first entry after it whose host may
   * take the request; null when none may.
   *
   * @param panic whether health is ignored (the level is in panic): only {@code exclude} counts
   */
  UpstreamHost choose(long hash, Set<UpstreamHost> exclude, boolean panic) {
    int n = hosts.length;
    if (n == 0) {
      return null;
    }
    int start = points == null ? (int) Long.remainderUnsigned(hash, n) : ringIndex(hash);
    for (int k = 0; k < n; k++) {
      UpstreamHost host = hosts[(start + k) % n];
      if (panic
          ? !exclude.contains(host)
          : host.healthyByEds() && !exclude.contains(host) && !host.ejected()) {
        return host;
      }
    }
    return null;
  }

  /** The first point at or after {@code hash}, wrapping around to the first (Ketama's rule). */
  private int ringIndex(long hash) {
    int low = 0;
    int high = points.length;
    while (low < high) {
      int mid = (low + high) >>> 1;
      if (Long.compareUnsigned(points[mid], hash) < 0) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return low == points.length ? 0 : low;
  }
}
