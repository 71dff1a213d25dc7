package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SpiffeIdTest {
  @Test
  void workloadIdsFollowTheNamespaceAndServiceAccount() {
    SpiffeId id = CallerIdentity.of("shop", "cart").spiffeId(TrustDomain.of("fedmesh.local"));

    assertThat(id.uri()).isEqualTo("spiffe://fedmesh.local/ns/shop/sa/cart");
    assertThat(SpiffeId.parse(id.uri())).isEqualTo(id);
    assertThat(id.hasPath()).isTrue();
    assertThat(TrustDomain.of("fedmesh.local").id().hasPath()).isFalse();
  }

  @Test
  void refusesWhatTheSpiffeStandardForbids() {
    assertThatThrownBy(() -> SpiffeId.parse("https://fedmesh.local/ns/a"))
        .hasMessage(
            "spiffeId: 'https://fedmesh.local/ns/a' (expected: a URI starting with spiffe://)");
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://FedMesh.local/ns/a"))
        .hasMessageStartingWith(
            "spiffeId: 'spiffe://FedMesh.local/ns/a' (expected: a trust domain");
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://fedmesh.local/ns//a"))
        .hasMessage("spiffeId: 'spiffe://fedmesh.local/ns//a' (expected: no empty path segment)");
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://fedmesh.local/ns/a/"))
        .hasMessage("spiffeId: 'spiffe://fedmesh.local/ns/a/' (expected: no trailing '/')");
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://fedmesh.local/ns/../a"))
        .hasMessage(
            "spiffeId: 'spiffe://fedmesh.local/ns/../a' (expected: no '.' or '..' path segment)");
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://fedmesh.local:8443/ns/a"))
        .hasMessageStartingWith("spiffeId: 'spiffe://fedmesh.local:8443/ns/a'");
  }

  @Test
  void callerIdentitiesAreKubernetesNames() {
    assertThatThrownBy(() -> CallerIdentity.of("Shop", "cart"))
        .hasMessage("namespace: 'Shop' (expected: a DNS label of at most 63 characters)");
    assertThatThrownBy(() -> CallerIdentity.of("shop", "cart/admin"))
        .hasMessage(
            "serviceAccount: 'cart/admin' (expected: a DNS subdomain of at most 253 characters)");
  }
}
