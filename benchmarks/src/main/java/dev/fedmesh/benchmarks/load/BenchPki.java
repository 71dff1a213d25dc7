package dev.fedmesh.benchmarks.load;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.KeyAlgorithm;
import dev.fedmesh.trust.Pem;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SpiffeId;
import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundle;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.WorkloadCsr;
import dev.fedmesh.trust.X509Svid;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;

/**
 * The mesh's certificates for a benchmark, as the cluster CA issues them in production: a root, the
 * cluster's intermediate, and ECDSA P-256 SVIDs for {@code spiffe://fedmesh.local/ns/bench/sa/
 * <name>}. Written as PEM files so that proxies in other processes can load them.
 */
final class BenchPki {
  static final TrustDomain DOMAIN = TrustDomain.of("fedmesh.local");
  static final String NAMESPACE = "bench";
  private static final Clock CLOCK = Clock.systemUTC();

  private final Path dir;
  private final RootCa root = RootCa.generate(RootCaSpec.of(DOMAIN), CLOCK);
  private final ClusterCa east =
      root.issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), CLOCK);

  BenchPki(Path dir) throws IOException {
    this.dir = dir;
    Files.writeString(dir.resolve("root.pem"), Pem.encode(java.util.List.of(root.certificate())));
  }

  /**
   * Issues {@code name}'s SVID and writes {@code <name>.pem} (chain) and {@code <name>-key.pem}.
   */
  SvidCredential issue(String name) throws IOException {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Svid svid =
        SvidIssuer.of(east, SvidPolicy.of(), CLOCK)
            .issue(WorkloadCsr.create(keys), CallerIdentity.of(NAMESPACE, name));
    Files.writeString(dir.resolve(name + ".pem"), svid.pem());
    Files.writeString(dir.resolve(name + "-key.pem"), Pem.encode(keys.getPrivate()));
    return SvidCredential.of(svid, keys.getPrivate());
  }

  static SpiffeId idOf(String name) {
    return CallerIdentity.of(NAMESPACE, name).spiffeId(DOMAIN);
  }

  /** Reads back what {@link #issue} wrote. */
  static SvidCredential load(Path dir, String name) throws IOException {
    String chain = Files.readString(dir.resolve(name + ".pem"));
    String key = Files.readString(dir.resolve(name + "-key.pem"));
    return SvidCredential.of(
        X509Svid.of(Pem.certificates(chain, name + ".pem")),
        Pem.privateKey(key, name + "-key.pem"));
  }

  /** A verifier trusting the root written in {@code dir}. */
  static SvidVerifier verifier(Path dir) throws IOException {
    TrustBundle bundle =
        TrustBundle.of(
            DOMAIN, Pem.certificates(Files.readString(dir.resolve("root.pem")), "root.pem"));
    return SvidVerifier.of(TrustBundleSet.of(bundle), CLOCK);
  }
}
