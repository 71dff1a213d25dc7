package dev.fedmesh.controller.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.policy.ServiceEntry;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Allocates the mesh's virtual addresses: one per mesh host a cluster may have no Service for (an
 * exported service, or a ServiceEntry host with no address of its own), from a configured range
 * (Istio's {@code 240.240.0.0/16} by default), stored in etcd so that every replica and every
 * restart serves the same address.
 *
 * <p>Every replica runs an allocator over the snapshots its model publishes; they agree without a
 * leader. A host's first candidate is a hash of its name into the range, then the next free
 * addresses in order, so two replicas racing for one host pick the same address and one etcd
 * transaction wins; the loser sees the winner's keys through the watch. An allocation writes {@code
 * vips/hosts/<host>} and {@code vips/addresses/<address>} in one transaction that requires both to
 * be absent, so a live address is never handed to a second host. A host that stops needing its
 * address keeps it for a grace period (a service briefly withdrawn by a restarting agent keeps its
 * address) and then releases it, with a transaction that requires the address unchanged.
 *
 * <p>When the range is full, hosts go without an address: they are listed by {@link #unallocated()}
 * (the analysis reports them) and logged, and no address is reused.
 */
public final class VirtualAddresses implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(VirtualAddresses.class);
  private static final long TIMEOUT_SECONDS = 5;

  /** Istio's range for auto-allocated addresses (the class E space, never routed). */
  public static final String DEFAULT_RANGE = "240.240.0.0/16";

  /** How long a host no longer needing its address keeps it, by default. */
  public static final Duration DEFAULT_RELEASE_GRACE = Duration.ofMinutes(5);

  /** An IPv4 range to allocate from: every address but the network's first and last. */
  public record Range(String cidr, long first, long size) {
    /**
     * @throws IllegalArgumentException naming the text and the expectation
     */
    public static Range parse(String cidr) {
      dev.fedmesh.model.Cidr.parse(cidr); // the generic syntax checks and messages
      int slash = cidr.indexOf('/');
      byte[] network;
      try {
        network = InetAddress.getByName(cidr.substring(0, slash)).getAddress();
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("'" + cidr + "' (expected: an IPv4 range)", e);
      }
      int prefix = Integer.parseInt(cidr.substring(slash + 1));
      if (network.length != 4 || prefix < 8 || prefix > 30) {
        throw new IllegalArgumentException(
            "'" + cidr + "' (expected: an IPv4 range from /8 to /30, such as 240.240.0.0/16)");
      }
      long base = Integer.toUnsignedLong(ByteBuffer.wrap(network).getInt());
      long mask = prefix == 0 ? 0 : (0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL;
      long start = base & mask;
      long count = 1L << (32 - prefix);
      if ((base & ~mask & 0xFFFFFFFFL) != 0) {
        throw new IllegalArgumentException(
            "'"
                + cidr
                + "' (expected: the network's own address, "
                + text(start)
                + "/"
                + prefix
                + ")");
      }
      return new Range(cidr, start + 1, count - 2);
    }

    /** The address at {@code index} (0 to size - 1) of the range. */
    String at(long index) {
      return text(first + index);
    }

    boolean contains(String address) {
      try {
        byte[] bytes = InetAddress.getByName(address).getAddress();
        if (bytes.length != 4) {
          return false;
        }
        long value = Integer.toUnsignedLong(ByteBuffer.wrap(bytes).getInt());
        return value >= first && value < first + size;
      } catch (UnknownHostException e) {
        return false;
      }
    }

    private static String text(long value) {
      return ((value >> 24) & 0xFF)
          + "."
          + ((value >> 16) & 0xFF)
          + "."
          + ((value >> 8) & 0xFF)
          + "."
          + (value & 0xFF);
    }
  }

  private final Client etcd;
  private final Range range;
  private final Duration releaseGrace;
  private final Clock clock;
  private final ScheduledExecutorService executor;
  private final AtomicReference<MeshSnapshot> latest = new AtomicReference<>();
  private final Map<String, Instant> unwantedSince = new HashMap<>();
  private volatile SortedSet<String> unallocated = new TreeSet<>();
  private final Set<String> reportedFull = new HashSet<>();
  private boolean scheduled;
  private SortedSet<String> lastWanted;
  private Object lastAddresses;
  private ScheduledFuture<?> releaseTimer;

  public VirtualAddresses(
      Client etcd,
      Range range,
      Duration releaseGrace,
      Clock clock,
      ScheduledExecutorService executor) {
    this.etcd = requireNonNull(etcd, "etcd");
    this.range = requireNonNull(range, "range");
    this.releaseGrace = requireNonNull(releaseGrace, "releaseGrace");
    this.clock = requireNonNull(clock, "clock");
    this.executor = requireNonNull(executor, "executor");
  }

  /**
   * The hosts that should have a virtual address in {@code mesh}: the fully qualified name of every
   * service some cluster exports (its ServiceExport, or a mesh-wide ServiceExport policy), and
   * every ServiceEntry host that is not a wildcard and whose entry lists no addresses.
   */
  public static SortedSet<String> wanted(MeshSnapshot mesh) {
    SortedSet<String> hosts = new TreeSet<>();
    for (Map.Entry<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> service :
        mesh.services().entrySet()) {
      boolean exported = false;
      for (ServiceEndpoints shard : service.getValue().values()) {
        if (shard.exported()) {
          exported = true;
          break;
        }
      }
      if (exported || mesh.policies().exports(service.getKey())) {
        hosts.add(service.getKey().fqdn());
      }
    }
    for (ServiceEntry entry : mesh.policies().serviceEntries()) {
      if (!entry.addresses().isEmpty() || entry.resolution() == ServiceEntry.Resolution.NONE) {
        continue;
      }
      for (String host : entry.hosts()) {
        if (!host.startsWith("*")) {
          hosts.add(host);
        }
      }
    }
    return hosts;
  }

  /** Hosts that should have an address but have none because the range is exhausted. */
  public SortedSet<String> unallocated() {
    return unallocated;
  }

  public Range range() {
    return range;
  }

  /** Reconciles the stored addresses with {@code mesh} soon, on the allocator's executor. */
  public void offer(MeshSnapshot mesh) {
    latest.set(mesh);
    synchronized (this) {
      if (scheduled) {
        return;
      }
      scheduled = true;
    }
    executor.execute(this::run);
  }

  private void run() {
    synchronized (this) {
      scheduled = false;
    }
    MeshSnapshot mesh = latest.get();
    if (mesh == null) {
      return;
    }
    try {
      reconcile(mesh);
    } catch (RuntimeException e) {
      log.warn("virtual addresses: {}", e.getMessage(), e);
    }
  }

  /** One pass: allocates what is missing and releases what has been unwanted for the grace. */
  void reconcile(MeshSnapshot mesh) {
    SortedSet<String> wanted = wanted(mesh);
    if (wanted.equals(lastWanted)
        && mesh.virtualAddresses() == lastAddresses
        && unwantedSince.isEmpty()
        && unallocated.isEmpty()) {
      return; // endpoints changed, nothing an address depends on
    }
    Map<String, String> held = mesh.virtualAddresses();
    Set<String> used = new HashSet<>(held.values());
    SortedSet<String> missing = new TreeSet<>();
    for (String host : wanted) {
      unwantedSince.remove(host);
      if (!held.containsKey(host)) {
        missing.add(host);
      }
    }
    SortedSet<String> full = new TreeSet<>();
    List<String> pending = new ArrayList<>(missing);
    for (int from = 0; from < pending.size(); from += BATCH) {
      List<String> batch = pending.subList(from, Math.min(pending.size(), from + BATCH));
      if (allocateTogether(batch, used)) {
        continue;
      }
      for (String host : batch) {
        if (!allocate(host, used)) {
          full.add(host);
        }
      }
    }
    unallocated = full;
    // Skipped next time only if nothing is left to do: a host not allocated (etcd trouble) is
    // tried again with the next snapshot.
    lastWanted = missing.isEmpty() ? wanted : null;
    lastAddresses = mesh.virtualAddresses();
    if (full.isEmpty()) {
      reportedFull.clear();
    } else {
      List<String> fresh = new ArrayList<>();
      for (String host : full) {
        if (reportedFull.add(host)) {
          fresh.add(host);
        }
      }
      if (!fresh.isEmpty()) {
        log.error(
            "virtual address range {} is exhausted ({} addresses): no address for {}; grow the"
                + " range (--virtual-address-range) or export fewer services",
            range.cidr(),
            range.size(),
            fresh);
      }
    }
    Instant now = clock.instant();
    Instant nextRelease = null;
    for (Map.Entry<String, String> entry : held.entrySet()) {
      if (wanted.contains(entry.getKey())) {
        continue;
      }
      Instant since = unwantedSince.computeIfAbsent(entry.getKey(), ignored -> now);
      Instant due = since.plus(releaseGrace);
      if (!now.isBefore(due)) {
        release(entry.getKey(), entry.getValue());
        unwantedSince.remove(entry.getKey());
      } else if (nextRelease == null || due.isBefore(nextRelease)) {
        nextRelease = due;
      }
    }
    unwantedSince.keySet().removeIf(host -> !held.containsKey(host));
    if (releaseTimer != null) {
      releaseTimer.cancel(false);
      releaseTimer = null;
    }
    if (nextRelease != null) {
      long delay = Math.max(0, Duration.between(now, nextRelease).toMillis());
      releaseTimer =
          executor.schedule(
              () -> {
                MeshSnapshot current = latest.get();
                if (current != null) {
                  offer(current);
                }
              },
              delay,
              TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Hosts allocated in one transaction (a cluster announcing hundreds of exported services costs a
   * few writes, not hundreds): within etcd's default of 128 compares and 128 operations.
   */
  static final int BATCH = 64;

  /**
   * Allocates each host its first free candidate in one transaction that requires every key absent;
   * false, with nothing written, when any was taken meanwhile or the range has too few free
   * addresses (the caller then goes host by host).
   */
  private boolean allocateTogether(List<String> hosts, Set<String> used) {
    if (hosts.size() < 2) {
      return false;
    }
    Set<String> planned = new HashSet<>(used);
    List<Cmp> compares = new ArrayList<>();
    List<Op> puts = new ArrayList<>();
    List<String> addresses = new ArrayList<>();
    for (String host : hosts) {
      String address = firstFree(host, planned);
      if (address == null) {
        return false;
      }
      planned.add(address);
      addresses.add(address);
      ByteSequence hostKey = utf8(KeyLayout.virtualAddressOf(host));
      ByteSequence addressKey = utf8(KeyLayout.virtualAddressHolder(address));
      compares.add(new Cmp(hostKey, Cmp.Op.EQUAL, CmpTarget.version(0)));
      compares.add(new Cmp(addressKey, Cmp.Op.EQUAL, CmpTarget.version(0)));
      puts.add(Op.put(hostKey, utf8(address), PutOption.DEFAULT));
      puts.add(Op.put(addressKey, utf8(host), PutOption.DEFAULT));
    }
    try {
      boolean succeeded =
          etcd.getKVClient()
              .txn()
              .If(compares.toArray(Cmp[]::new))
              .Then(puts.toArray(Op[]::new))
              .commit()
              .get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
              .isSucceeded();
      if (succeeded) {
        used.addAll(addresses);
        log.info(
            "virtual addresses allocated to {} hosts ({} … {})",
            hosts.size(),
            hosts.get(0),
            hosts.get(hosts.size() - 1));
      }
      return succeeded;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException | TimeoutException e) {
      log.warn("allocating {} virtual addresses together: etcd: {}", hosts.size(), e.getMessage());
      return false;
    }
  }

  /** The host's first candidate not in {@code used}, or null when the range is full. */
  private String firstFree(String host, Set<String> used) {
    long start = Math.floorMod(hash(host), range.size());
    for (long probe = 0; probe < range.size(); probe++) {
      String address = range.at((start + probe) % range.size());
      if (!used.contains(address)) {
        return address;
      }
    }
    return null;
  }

  /** Tries the host's candidates in order; false when every address of the range is taken. */
  private boolean allocate(String host, Set<String> used) {
    long start = Math.floorMod(hash(host), range.size());
    for (long probe = 0; probe < range.size(); probe++) {
      String address = range.at((start + probe) % range.size());
      if (used.contains(address)) {
        continue;
      }
      Outcome outcome = tryAllocate(host, address);
      if (outcome == Outcome.ALLOCATED) {
        used.add(address);
        log.info("virtual address {} allocated to {}", address, host);
        return true;
      }
      if (outcome == Outcome.HOST_HAS_ONE) {
        return true; // another replica was first; the watch brings its address
      }
      if (outcome == Outcome.FAILED) {
        return true; // etcd trouble: try again with the next snapshot, not a full range
      }
      used.add(address); // held by a host this snapshot does not know yet
    }
    return false;
  }

  private enum Outcome {
    ALLOCATED,
    HOST_HAS_ONE,
    ADDRESS_TAKEN,
    FAILED
  }

  private Outcome tryAllocate(String host, String address) {
    ByteSequence hostKey = utf8(KeyLayout.virtualAddressOf(host));
    ByteSequence addressKey = utf8(KeyLayout.virtualAddressHolder(address));
    try {
      var response =
          etcd.getKVClient()
              .txn()
              .If(
                  new Cmp(hostKey, Cmp.Op.EQUAL, CmpTarget.version(0)),
                  new Cmp(addressKey, Cmp.Op.EQUAL, CmpTarget.version(0)))
              .Then(
                  Op.put(hostKey, utf8(address), PutOption.DEFAULT),
                  Op.put(addressKey, utf8(host), PutOption.DEFAULT))
              .commit()
              .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      if (response.isSucceeded()) {
        return Outcome.ALLOCATED;
      }
      long hostKeys =
          etcd.getKVClient().get(hostKey).get(TIMEOUT_SECONDS, TimeUnit.SECONDS).getCount();
      return hostKeys > 0 ? Outcome.HOST_HAS_ONE : Outcome.ADDRESS_TAKEN;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Outcome.FAILED;
    } catch (ExecutionException | TimeoutException e) {
      log.warn("allocating a virtual address for {}: etcd: {}", host, e.getMessage());
      return Outcome.FAILED;
    }
  }

  private void release(String host, String address) {
    ByteSequence hostKey = utf8(KeyLayout.virtualAddressOf(host));
    ByteSequence addressKey = utf8(KeyLayout.virtualAddressHolder(address));
    try {
      var response =
          etcd.getKVClient()
              .txn()
              .If(new Cmp(hostKey, Cmp.Op.EQUAL, CmpTarget.value(utf8(address))))
              .Then(
                  Op.delete(hostKey, DeleteOption.DEFAULT),
                  Op.delete(addressKey, DeleteOption.DEFAULT))
              .commit()
              .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      if (response.isSucceeded()) {
        log.info("virtual address {} of {} released: no cluster needs it", address, host);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.warn("releasing virtual address {} of {}: etcd: {}", address, host, e.getMessage());
    }
  }

  /** FNV-1a over the host name: stable across JVMs and releases, unlike String.hashCode's use. */
  static long hash(String host) {
    long hash = 0xcbf29ce484222325L;
    for (byte b : host.getBytes(UTF_8)) {
      hash ^= b & 0xFF;
      hash *= 0x100000001b3L;
    }
    return hash;
  }

  private static ByteSequence utf8(String text) {
    return ByteSequence.from(text, UTF_8);
  }

  @Override
  public void close() {
    if (releaseTimer != null) {
      releaseTimer.cancel(false);
    }
  }
}
