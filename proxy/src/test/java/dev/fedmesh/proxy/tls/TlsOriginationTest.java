package dev.fedmesh.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which server certificate names an originating context accepts, as Envoy matches them. */
class TlsOriginationTest {
  @Test
  void anExactDnsNameMatchesItselfAndACertificateWildcardOneLabelDeep() {
    assertThat(TlsOrigination.dnsMatch("api.example.com", "api.example.com")).isTrue();
    assertThat(TlsOrigination.dnsMatch("api.example.com", "API.Example.com")).isTrue();
    assertThat(TlsOrigination.dnsMatch("api.example.com", "*.example.com")).isTrue();
    assertThat(TlsOrigination.dnsMatch("a.b.example.com", "*.example.com")).isFalse();
    assertThat(TlsOrigination.dnsMatch("example.com", "*.example.com")).isFalse();
    assertThat(TlsOrigination.dnsMatch("api.example.com", "other.example.com")).isFalse();
  }
}
