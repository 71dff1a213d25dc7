package dev.fedmesh.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CidrTest {
  @Test
  void containsTheAddressesOfItsNetworkOnly() {
    Cidr east = Cidr.parse("127.1.0.0/16");
    assertThat(east.contains("127.1.0.1")).isTrue();
    assertThat(east.contains("127.1.255.254")).isTrue();
    assertThat(east.contains("127.2.0.1")).isFalse();
    assertThat(east.contains("fd00::1")).isFalse();
    assertThat(east.contains("example.com")).as("a name is never inside").isFalse();
    assertThat(Cidr.parse("10.0.0.7/32").contains("10.0.0.7")).isTrue();
    assertThat(Cidr.parse("0.0.0.0/0").contains("192.0.2.1")).isTrue();
    assertThat(Cidr.parse("fd00::/8").contains("fd12::1")).isTrue();
    assertThat(Cidr.parse("fd00::/8").contains("fe80::1")).isFalse();
  }

  @Test
  void badNetworksNameTheTextAndTheExpectation() {
    assertThatThrownBy(() -> Cidr.parse("127.1.0.0"))
        .hasMessage("'127.1.0.0' (expected: an address/prefix such as 10.1.0.0/16)");
    assertThatThrownBy(() -> Cidr.parse("127.1.0.0/33"))
        .hasMessage("'127.1.0.0/33' (expected: a prefix length of 0 to 32)");
    assertThatThrownBy(() -> Cidr.parse("east.example/16"))
        .hasMessageStartingWith("'east.example/16' (expected: an address/prefix");
  }
}
