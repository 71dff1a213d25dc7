package dev.fedmesh.gateway;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.KeyAlgorithm;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SpiffeTls;
import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.WorkloadCsr;
import dev.fedmesh.trust.X509Svid;
import java.security.KeyPair;
import java.time.Clock;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/** One trust domain with two clusters, each signing its own workloads, as the mesh runs it. */
final class MeshPki {
  private static final Clock CLOCK = Clock.systemUTC();

  private final RootCa root =
      RootCa.generate(RootCaSpec.of(TrustDomain.of("fedmesh.local")), CLOCK);
  private final ClusterCa east =
      root.issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), CLOCK);
  private final ClusterCa west =
      root.issueIntermediate(IntermediateSpec.of(ClusterName.of("west")), CLOCK);
  private final TrustBundleSet bundles = TrustBundleSet.of(east.trustBundle());

  SvidCredential eastWorkload(String namespace, String serviceAccount) {
    return workload(east, namespace, serviceAccount);
  }

  SvidCredential westWorkload(String namespace, String serviceAccount) {
    return workload(west, namespace, serviceAccount);
  }

  private static SvidCredential workload(ClusterCa ca, String namespace, String serviceAccount) {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Svid svid =
        SvidIssuer.of(ca, SvidPolicy.of(), CLOCK)
            .issue(WorkloadCsr.create(keys), CallerIdentity.of(namespace, serviceAccount));
    return SvidCredential.of(svid, keys.getPrivate());
  }

  /** Mutual TLS as a workload holding {@code credential}, trusting any peer of the domain. */
  SSLContext tls(SvidCredential credential) {
    return SpiffeTls.sslContext(
        () -> Optional.of(credential), SvidVerifier.of(bundles, CLOCK), id -> true);
  }
}
