package dev.fedmesh.proxy.dns;

import static dev.fedmesh.proxy.dns.DnsListeners.domain;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import org.junit.jupiter.api.Test;

/** The inline DNS table: matching as Envoy matches, and each problem named by field. */
@SuppressWarnings("deprecation") // known_suffixes: the contract's field
class DnsTableTest {
  private static final String AT = "server_config.inline_dns_table.";

  @Test
  void namesMatchWithoutCaseOrTrailingDotAndAddressesSplitByFamily() {
    DnsTable table =
        DnsTable.of(
            io.envoyproxy.envoy.data.dns.v3.DnsTable.newBuilder()
                .addVirtualDomains(
                    domain("Payments.Shop.svc.cluster.local.", "10.0.0.1", "fd00::1", "10.0.0.2")
                        .toBuilder()
                        .setAnswerTtl(Durations.fromSeconds(45)))
                .addVirtualDomains(domain("payments.shop", "10.0.0.1"))
                .build());

    DnsTable.Entry entry = table.lookup("payments.shop.svc.cluster.local").orElseThrow();
    assertThat(entry.name()).isEqualTo("payments.shop.svc.cluster.local");
    assertThat(entry.ipv4())
        .extracting(a -> a.getHostAddress())
        .containsExactly("10.0.0.1", "10.0.0.2");
    assertThat(entry.ipv6())
        .extracting(a -> a.getHostAddress())
        .containsExactly("fd00:0:0:0:0:0:0:1");
    assertThat(entry.ttlSeconds()).isEqualTo(45);
    assertThat(table.lookup("payments.shop").orElseThrow().ttlSeconds())
        .isEqualTo(DnsTable.DEFAULT_TTL_SECONDS);
    assertThat(table.lookup("payments")).isEmpty();
    assertThat(DnsTable.key("PayMents.Shop.")).isEqualTo("payments.shop");
  }

  @Test
  void anExactNameWinsOverAWildcardAndALongerWildcardOverAShorter() {
    DnsTable table =
        DnsTable.of(
            io.envoyproxy.envoy.data.dns.v3.DnsTable.newBuilder()
                .addVirtualDomains(domain("*.example.com", "10.0.0.1"))
                .addVirtualDomains(domain("*.foo.example.com", "10.0.0.2"))
                .addVirtualDomains(domain("exact.foo.example.com", "10.0.0.3"))
                .build());

    assertThat(table.lookup("exact.foo.example.com").orElseThrow().name())
        .isEqualTo("exact.foo.example.com");
    assertThat(table.lookup("a.b.foo.example.com").orElseThrow().name())
        .isEqualTo("*.foo.example.com");
    assertThat(table.lookup("bar.example.com").orElseThrow().name()).isEqualTo("*.example.com");
    assertThat(table.lookup("example.com")).isEmpty();
  }

  @Test
  void knownSuffixesCompareWithoutCase() {
    DnsTable table =
        DnsTable.of(
            io.envoyproxy.envoy.data.dns.v3.DnsTable.newBuilder()
                .addKnownSuffixes(StringMatcher.newBuilder().setSuffix("Cluster.Local."))
                .addKnownSuffixes(StringMatcher.newBuilder().setExact("mesh.internal"))
                .build());

    assertThat(table.underKnownSuffix("orders.shop.svc.cluster.local")).isTrue();
    assertThat(table.underKnownSuffix("mesh.internal")).isTrue();
    assertThat(table.underKnownSuffix("example.org")).isFalse();
    assertThat(table.knownSuffixes())
        .containsExactly("suffix:cluster.local", "exact:mesh.internal");
  }

  @Test
  void everyProblemOfATableIsNamedByField() {
    var table =
        io.envoyproxy.envoy.data.dns.v3.DnsTable.newBuilder()
            .addVirtualDomains(domain("", "10.0.0.1"))
            .addVirtualDomains(domain("bad name.shop", "10.0.0.1"))
            .addVirtualDomains(domain("payments.shop", "10.0.0.300", "fe80::1%eth0", "::1"))
            .addVirtualDomains(domain("Payments.Shop.", "10.0.0.1"))
            .addVirtualDomains(domain("empty.shop"))
            .addVirtualDomains(
                io.envoyproxy.envoy.data.dns.v3.DnsTable.DnsVirtualDomain.newBuilder()
                    .setName("cluster.shop")
                    .setEndpoint(
                        io.envoyproxy.envoy.data.dns.v3.DnsTable.DnsEndpoint.newBuilder()
                            .setClusterName("outbound|80||x")))
            .addVirtualDomains(
                domain("short.shop", "10.0.0.1").toBuilder().setAnswerTtl(Durations.fromSeconds(5)))
            .addKnownSuffixes(
                StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(".*")))
            .setExternalRetryCount(4)
            .build();

    assertThat(DnsTable.problems(table, AT))
        .containsExactly(
            AT + "virtual_domains[0].name: empty (expected: a DNS name)",
            AT
                + "virtual_domains[1].name: 'bad name.shop' (expected: a DNS name: labels of"
                + " letters, digits, '-' and '_' up to 63 characters, 253 in all, the first label"
                + " may be '*')",
            AT
                + "virtual_domains[2].endpoint.address_list.address[0]: '10.0.0.300' (expected:"
                + " an IPv4 or IPv6 address)",
            AT
                + "virtual_domains[2].endpoint.address_list.address[1]: 'fe80::1%eth0' (expected:"
                + " an IPv4 or IPv6 address)",
            AT
                + "virtual_domains[3].name: 'Payments.Shop.' (expected: each name once;"
                + " virtual_domains[2] has it)",
            AT + "virtual_domains[4].endpoint.address_list.address: empty (expected: at least one)",
            AT
                + "virtual_domains[5].endpoint: CLUSTER_NAME (expected: address_list; cluster_name"
                + " and service_list are not supported)",
            AT + "virtual_domains[6].answer_ttl: 5s (expected: at least 30s, Envoy's bound)",
            AT + "known_suffixes[0]: SAFE_REGEX (expected: exact, prefix, suffix or contains)",
            AT + "external_retry_count: 4 (expected: 0..3, Envoy's bound)");
  }
}
