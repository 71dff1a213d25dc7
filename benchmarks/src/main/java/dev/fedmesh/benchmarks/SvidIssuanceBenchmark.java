package dev.fedmesh.benchmarks;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.KeyAlgorithm;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.WorkloadCsr;
import dev.fedmesh.trust.X509Svid;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Workload certificate issuances per second by one cluster CA on one thread, ECDSA P-256
 * throughout: every CSR check (parse, key and signature-algorithm strength, signature verification,
 * extension and identity checks), then building and signing the SVID. The CSRs are made in advance,
 * as workloads make them, and cycled so that no cache helps.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(1)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class SvidIssuanceBenchmark {
  private static final int CSRS = 64;

  private SvidIssuer issuer;
  private byte[][] csrs;
  private CallerIdentity[] callers;
  private int next;

  @Setup
  public void setUp() {
    Clock clock = Clock.systemUTC();
    RootCa root = RootCa.generate(RootCaSpec.of(TrustDomain.of("fedmesh.local")), clock);
    ClusterCa east = root.issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), clock);
    issuer = SvidIssuer.of(east, SvidPolicy.of(), clock);
    csrs = new byte[CSRS][];
    callers = new CallerIdentity[CSRS];
    for (int i = 0; i < CSRS; i++) {
      csrs[i] = WorkloadCsr.create(KeyAlgorithm.EC_P256.generate());
      callers[i] = CallerIdentity.of("ns-" + (i % 8), "sa-" + i);
    }
  }

  @Benchmark
  public X509Svid issueSvid() {
    int i = next;
    next = (i + 1) % CSRS;
    return issuer.issue(csrs[i], callers[i]);
  }
}
