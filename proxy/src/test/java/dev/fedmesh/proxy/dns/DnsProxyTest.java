package dev.fedmesh.proxy.dns;

import static dev.fedmesh.proxy.dns.DnsListeners.domain;
import static dev.fedmesh.proxy.dns.DnsListeners.filter;
import static dev.fedmesh.proxy.dns.DnsListeners.listener;
import static dev.fedmesh.proxy.dns.DnsTestClient.A;
import static dev.fedmesh.proxy.dns.DnsTestClient.AAAA;
import static dev.fedmesh.proxy.dns.DnsTestClient.ANY;
import static dev.fedmesh.proxy.dns.DnsTestClient.MX;
import static dev.fedmesh.proxy.dns.DnsTestClient.SRV;
import static dev.fedmesh.proxy.dns.DnsTestClient.TXT;
import static dev.fedmesh.proxy.dns.DnsTestClient.query;
import static dev.fedmesh.proxy.dns.DnsTestClient.tcp;
import static dev.fedmesh.proxy.dns.DnsTestClient.udp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.proxy.net.Transports;
import io.envoyproxy.envoy.data.dns.v3.DnsTable;
import io.envoyproxy.envoy.extensions.filters.udp.dns_filter.v3.DnsFilterConfig;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DNS listener over real UDP and TCP sockets on loopback, with fake upstream resolvers. */
class DnsProxyTest {
  private static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);
  private static final String PAYMENTS = "payments.shop.svc.cluster.local";
  private static final DnsTable TABLE =
      DnsTable.newBuilder()
          .addVirtualDomains(domain(PAYMENTS, "10.0.0.1", "10.0.0.2", "fd00::1"))
          .addVirtualDomains(domain("payments.shop.svc.clusterset.local", "10.0.0.1"))
          .addVirtualDomains(domain("payments", "10.0.0.1"))
          .addVirtualDomains(domain("ipv6only.shop.svc.cluster.local", "fd00::2"))
          .build();

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final ScheduledExecutorService executor =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "dns-test-control");
            thread.setDaemon(true);
            return thread;
          });
  private final List<AutoCloseable> closeables = new ArrayList<>();
  @TempDir Path dir;
  private DnsProxy proxy;

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    executor.shutdownNow();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private DnsProxy serve(DnsFilterConfig filter) {
    return serve(ANY_PORT, filter);
  }

  private DnsProxy serve(InetSocketAddress address, DnsFilterConfig filter) {
    if (proxy == null) {
      proxy =
          DnsProxy.create(
              group, executor, registry, dir.resolve("resolv.conf"), new SplittableRandom(7));
      closeables.add(proxy);
    }
    proxy.apply(Optional.of(DnsListenerConfig.of(listener(address, filter))));
    return proxy;
  }

  private InetSocketAddress server() {
    return proxy.address().orElseThrow();
  }

  private FakeResolver fake(FakeResolver.Behaviour behaviour) throws InterruptedException {
    FakeResolver fake = FakeResolver.start(group, behaviour);
    closeables.add(fake);
    return fake;
  }

  @Test
  void aAndAaaaComeFromTheTableWithTheClientsQuestionIdAndRdAsAnAuthority() throws Exception {
    FakeResolver upstream = fake(FakeResolver.answering("192.0.2.1"));
    serve(filter(TABLE, Duration.ofSeconds(2), upstream.address()).build());

    DnsTestClient.Answer a = udp(server(), query(0x1234, "Payments.Shop.svc.CLUSTER.local.", A));
    DnsTestClient.Answer aaaa = udp(server(), query(0x4321, PAYMENTS, AAAA));

    assertThat(a.id()).isEqualTo(0x1234);
    assertThat(a.rcode()).isZero();
    assertThat(a.authoritative()).isTrue();
    assertThat(a.recursionAvailable()).isTrue();
    assertThat(a.recursionDesired()).isTrue();
    // The question comes back as asked, case included (resolvers using 0x20 check it).
    assertThat(a.questions()).containsExactly("Payments.Shop.svc.CLUSTER.local. A");
    assertThat(a.addresses()).containsExactly("10.0.0.1", "10.0.0.2");
    assertThat(a.ttls()).containsOnly(30L);
    assertThat(aaaa.id()).isEqualTo(0x4321);
    assertThat(aaaa.addresses()).containsExactly("fd00:0:0:0:0:0:0:1");
    // A short name of the proxy's own namespace, from the same table.
    assertThat(udp(server(), query(1, "payments", A)).addresses()).containsExactly("10.0.0.1");
    assertThat(upstream.pending()).isEmpty();
    assertThat(proxy.metrics().localAnswers("A", "answer")).isEqualTo(2);
    assertThat(proxy.metrics().localAnswers("AAAA", "answer")).isEqualTo(1);
  }

  @Test
  void aMeshNameAskedForAnotherTypeIsNodataAndIsNeverForwarded() throws Exception {
    FakeResolver upstream = fake(FakeResolver.answering("192.0.2.1"));
    serve(filter(TABLE, Duration.ofSeconds(2), upstream.address()).build());

    for (int type : new int[] {MX, TXT, SRV, ANY}) {
      DnsTestClient.Answer answer = udp(server(), query(type, PAYMENTS, type));
      assertThat(answer.rcode()).as("type %d", type).isZero();
      assertThat(answer.authoritative()).isTrue();
      assertThat(answer.answerCount()).isZero();
    }
    // A table name without IPv4 addresses has no A records: NODATA too.
    assertThat(udp(server(), query(9, "ipv6only.shop.svc.cluster.local", A)).answerCount())
        .isZero();

    // A forwarded name reaches the upstream as the first query it ever saw: nothing before it
    // was forwarded.
    udp(server(), query(10, "example.org", A));
    assertThat(upstream.next().name()).isEqualTo("example.org.");
    assertThat(upstream.pending()).isEmpty();
    assertThat(proxy.metrics().localAnswers("MX", "nodata")).isEqualTo(1);
    assertThat(proxy.metrics().externalQueries("MX", "udp")).isZero();
    assertThat(proxy.metrics().externalQueries("A", "udp")).isEqualTo(1);
  }

  @Test
  void aNameOutsideTheTableIsForwardedUnderAFreshIdAndAnsweredUnderTheClientsOwn()
      throws Exception {
    FakeResolver upstream = fake(FakeResolver.answering("192.0.2.7", "2001:db8::7"));
    serve(filter(TABLE, Duration.ofSeconds(2), upstream.address()).build());

    DnsTestClient.Answer answer = udp(server(), query(0x0101, "www.example.org", A));

    FakeResolver.Received asked = upstream.next();
    assertThat(asked.name()).isEqualTo("www.example.org.");
    assertThat(asked.tcp()).isFalse();
    assertThat(asked.id()).isNotEqualTo(0x0101);
    assertThat(answer.id()).isEqualTo(0x0101);
    assertThat(answer.rcode()).isZero();
    assertThat(answer.authoritative()).isFalse();
    assertThat(answer.addresses()).containsExactly("192.0.2.7");
    assertThat(answer.ttls()).containsExactly(60L);
    assertThat(udp(server(), query(0x0102, "www.example.org", AAAA)).addresses())
        .containsExactly("2001:db8:0:0:0:0:0:7");
    FakeResolver.Received second = upstream.next();
    // Each upstream query has its own ID and its own socket, so its own source port.
    assertThat(second.id()).isNotEqualTo(asked.id());
    assertThat(second.sender().getPort()).isNotEqualTo(asked.sender().getPort());
  }

  @Test
  void anUpstreamThatNeverAnswersGivesServfailWithinTheResolverTimeout() throws Exception {
    FakeResolver upstream = fake(FakeResolver.silent());
    serve(filter(TABLE, Duration.ofSeconds(1), upstream.address()).build());

    long start = System.nanoTime();
    DnsTestClient.Answer answer = udp(server(), query(77, "never.example.org", A));
    long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    assertThat(answer.id()).isEqualTo(77);
    assertThat(answer.rcode()).isEqualTo(2); // SERVFAIL
    assertThat(answer.questions()).containsExactly("never.example.org. A");
    assertThat(elapsedMillis).isBetween(900L, 1500L);
    assertThat(proxy.metrics().unansweredQueries("A", "timeout")).isEqualTo(1);
    assertThat(proxy.pendingLookups()).isZero();
  }

  @Test
  void theNextResolverIsAskedWhenOneStaysSilentAllWithinTheTimeout() throws Exception {
    FakeResolver silent = fake(FakeResolver.silent());
    FakeResolver answering = fake(FakeResolver.answering("192.0.2.9"));
    serve(filter(TABLE, Duration.ofSeconds(2), silent.address(), answering.address()).build());

    long start = System.nanoTime();
    DnsTestClient.Answer answer = udp(server(), query(5, "next.example.org", A));
    long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    assertThat(answer.addresses()).containsExactly("192.0.2.9");
    // Two resolvers, one round, 2 s: the second is asked after the first's 1 s share.
    assertThat(elapsedMillis).isBetween(900L, 1900L);
    FakeResolver.Received first = silent.next();
    FakeResolver.Received second = answering.next();
    assertThat(second.id()).isNotEqualTo(first.id());
    assertThat(proxy.metrics().tryFailures("udp", "timeout")).isEqualTo(1);
  }

  @Test
  void aResolverThatIsNotListeningIsSkippedAtOnce() throws Exception {
    FakeResolver gone = fake(FakeResolver.silent());
    InetSocketAddress goneAddress = gone.address();
    gone.close();
    FakeResolver answering = fake(FakeResolver.answering("192.0.2.10"));
    serve(filter(TABLE, Duration.ofSeconds(4), goneAddress, answering.address()).build());

    long start = System.nanoTime();
    DnsTestClient.Answer answer = udp(server(), query(5, "skip.example.org", A));

    assertThat(answer.addresses()).containsExactly("192.0.2.10");
    // The ICMP port unreachable moves on without waiting for the first try's 2 s.
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(1500L);
    assertThat(proxy.metrics().tryFailures("udp", "unreachable")).isEqualTo(1);
  }

  @Test
  void anUpstreamAnswerWithAnotherIdOrQuestionIsIgnored() throws Exception {
    FakeResolver upstream =
        fake(
            (query, tcp) -> {
              byte[] spoofed = FakeResolver.answer(query, false, List.of("203.0.113.66"));
              spoofed[1] ^= 1; // another ID
              return spoofed;
            });
    serve(filter(TABLE, Duration.ofSeconds(2), upstream.address()).build());
    try (java.net.DatagramSocket client = new java.net.DatagramSocket(ANY_PORT)) {
      client.setSoTimeout(5000);
      byte[] asked = query(31, "spoof.example.org", A);
      client.send(new java.net.DatagramPacket(asked, asked.length, server()));
      FakeResolver.Received received = upstream.next();
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> proxy.metrics().tryFailures("udp", "mismatched") == 1);
      byte[] otherQuestion =
          FakeResolver.answer(
              query(received.id(), "evil.example.org", A), false, List.of("203.0.113.67"));
      upstream.replyUdp(received, otherQuestion);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> proxy.metrics().tryFailures("udp", "mismatched") == 2);
      // The real answer, the question's case changed (0x20 answers keep the name, not its case).
      byte[] genuine = FakeResolver.answer(received.wire(), false, List.of("192.0.2.31"));
      genuine[13] = (byte) Character.toUpperCase(genuine[13]);
      upstream.replyUdp(received, genuine);

      java.net.DatagramPacket packet = new java.net.DatagramPacket(new byte[512], 512);
      client.receive(packet);
      DnsTestClient.Answer answer =
          DnsTestClient.decode(java.util.Arrays.copyOf(packet.getData(), packet.getLength()));
      assertThat(answer.id()).isEqualTo(31);
      assertThat(answer.addresses()).containsExactly("192.0.2.31");
    }
  }

  @Test
  void aTruncatedUdpAnswerIsAskedAgainOverTcpOfTheSameResolver() throws Exception {
    String[] many = IntStream.range(1, 41).mapToObj(i -> "192.0.2." + i).toArray(String[]::new);
    FakeResolver upstream = fake(FakeResolver.truncatingUdp(many));
    serve(filter(TABLE, Duration.ofSeconds(2), upstream.address()).build());

    DnsTestClient.Answer answer = udp(server(), query(3, "big.example.org", A, 4096));

    assertThat(answer.truncated()).isFalse();
    assertThat(answer.addresses()).hasSize(40);
    assertThat(upstream.next().tcp()).isFalse();
    assertThat(upstream.next().tcp()).isTrue();
  }

  @Test
  void anAnswerLargerThanAUdpClientTakesIsTruncatedSoItAsksAgainOverTcp() throws Exception {
    String[] many = IntStream.range(1, 41).mapToObj(i -> "10.1.0." + i).toArray(String[]::new);
    String[] external = IntStream.range(1, 41).mapToObj(i -> "192.0.2." + i).toArray(String[]::new);
    FakeResolver upstream = fake(FakeResolver.answering(external));
    DnsTable table = TABLE.toBuilder().addVirtualDomains(domain("big.shop", many)).build();
    serve(filter(table, Duration.ofSeconds(2), upstream.address()).build());

    // From the table: without EDNS(0), 512 bytes and TC, with the records that fit.
    byte[] classic = DnsTestClient.udpExchange(server(), query(1, "big.shop", A));
    DnsTestClient.Answer truncated = DnsTestClient.decode(classic);
    assertThat(classic.length).isLessThanOrEqualTo(512);
    assertThat(truncated.truncated()).isTrue();
    assertThat(truncated.addresses()).isNotEmpty().hasSizeLessThan(40);
    assertThat(tcp(server(), query(2, "big.shop", A)).get(0).addresses()).hasSize(40);
    DnsTestClient.Answer edns = udp(server(), query(3, "big.shop", A, 4096));
    assertThat(edns.truncated()).isFalse();
    assertThat(edns.addresses()).hasSize(40);
    assertThat(edns.optPayloadSize()).isEqualTo(4096);

    // Forwarded: an upstream answer over 512 bytes becomes a TC stand-in with the question.
    byte[] relayed = DnsTestClient.udpExchange(server(), query(4, "big.example.org", A));
    DnsTestClient.Answer stub = DnsTestClient.decode(relayed);
    assertThat(relayed.length).isLessThanOrEqualTo(512);
    assertThat(stub.truncated()).isTrue();
    assertThat(stub.id()).isEqualTo(4);
    assertThat(stub.questions()).containsExactly("big.example.org. A");
    assertThat(tcp(server(), query(5, "big.example.org", A)).get(0).addresses()).hasSize(40);
  }

  @Test
  void overTcpQueriesArePipelinedAnsweredFromTheTableAndForwardedOverTcp() throws Exception {
    FakeResolver upstream = fake(FakeResolver.answering("192.0.2.20"));
    serve(filter(TABLE, Duration.ofSeconds(2), upstream.address()).build());

    List<DnsTestClient.Answer> answers =
        tcp(server(), query(1, PAYMENTS, A), query(2, "tcp.example.org", A));

    assertThat(answers)
        .anySatisfy(
            a -> {
              assertThat(a.id()).isEqualTo(1);
              assertThat(a.addresses()).containsExactly("10.0.0.1", "10.0.0.2");
            })
        .anySatisfy(
            a -> {
              assertThat(a.id()).isEqualTo(2);
              assertThat(a.addresses()).containsExactly("192.0.2.20");
            });
    assertThat(upstream.next().tcp()).isTrue();
    assertThat(proxy.metrics().externalQueries("A", "tcp")).isEqualTo(1);
  }

  @Test
  void aNameUnderAKnownSuffixMissingFromTheTableIsNxdomainAndOthersAreForwarded() throws Exception {
    FakeResolver upstream = fake(FakeResolver.answering("192.0.2.30"));
    @SuppressWarnings("deprecation")
    DnsTable table =
        TABLE.toBuilder()
            .addKnownSuffixes(StringMatcher.newBuilder().setSuffix("svc.cluster.local"))
            .build();
    serve(filter(table, Duration.ofSeconds(2), upstream.address()).build());

    DnsTestClient.Answer missing = udp(server(), query(1, "orders.shop.svc.cluster.local", A));
    DnsTestClient.Answer outside = udp(server(), query(2, "example.org", A));

    assertThat(missing.rcode()).isEqualTo(3); // NXDOMAIN
    assertThat(missing.authoritative()).isTrue();
    assertThat(outside.addresses()).containsExactly("192.0.2.30");
    assertThat(upstream.next().name()).isEqualTo("example.org.");
    assertThat(upstream.pending()).isEmpty();
  }

  @Test
  void aDatagramShorterThanAHeaderOrAResponseIsDroppedWithNothingSent() throws Exception {
    serve(filter(TABLE, Duration.ofSeconds(2)).build());
    byte[] response = query(99, PAYMENTS, A);
    response[2] |= (byte) 0x80; // QR

    // The first datagram back answers the valid query sent after the two that are dropped.
    byte[] first =
        DnsTestClient.udpExchange(
            server(), new byte[] {0, 1, 2, 3, 4}, response, query(7, PAYMENTS, A));

    assertThat(DnsTestClient.decode(first).id()).isEqualTo(7);
    assertThat(proxy.metrics().invalidQueries("udp", "short")).isEqualTo(1);
    assertThat(proxy.metrics().invalidQueries("udp", "response")).isEqualTo(1);
  }

  @Test
  void aMalformedQuestionOrQdcountOtherThanOneIsFormerrWithTheIdEchoed() throws Exception {
    serve(filter(TABLE, Duration.ofSeconds(2)).build());
    byte[] loop = {0, 42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, (byte) 0xC0, 12, 0, 1, 0, 1};
    byte[] twoQuestions = query(43, PAYMENTS, A);
    twoQuestions[5] = 2;
    byte[] noQuestion = {0, 44, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    for (byte[] message : List.of(loop, twoQuestions, noQuestion)) {
      DnsTestClient.Answer answer = udp(server(), message);
      assertThat(answer.rcode()).isEqualTo(1); // FORMERR
      assertThat(answer.id()).isEqualTo(DownstreamQuery.u16(message, 0));
    }
    // The listener lives on.
    assertThat(udp(server(), query(45, PAYMENTS, A)).addresses()).hasSize(2);
  }

  @Test
  void anOversizedQueryIsFormerrOverUdpAndClosesItsTcpConnection() throws Exception {
    serve(filter(TABLE, Duration.ofSeconds(2)).build());
    byte[] padded = withPadding(query(50, PAYMENTS, A), 600);
    byte[] huge = withPadding(query(51, PAYMENTS, A), 5000);

    assertThat(udp(server(), padded).rcode()).isEqualTo(1);
    assertThat(udp(server(), huge).rcode()).isEqualTo(1);
    try (Socket socket = new Socket()) {
      socket.connect(server(), 5000);
      socket.setSoTimeout(5000);
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      out.writeShort(huge.length);
      out.write(huge);
      out.flush();
      int read;
      try {
        read = new DataInputStream(socket.getInputStream()).read();
      } catch (java.net.SocketException reset) {
        read = -1; // closed with the rest of the frame unread: a reset
      }
      assertThat(read).isEqualTo(-1);
    }
    // Over TCP a 600-byte query is fine.
    assertThat(tcp(server(), padded).get(0).addresses()).hasSize(2);
  }

  @Test
  void ednsIsEchoedWithOurSizeAndAVersionBeyondZeroIsBadvers() throws Exception {
    serve(filter(TABLE, Duration.ofSeconds(2)).build());
    byte[] v1 = query(60, PAYMENTS, A, 1232);
    v1[v1.length - 5] = 1; // OPT TTL: extended rcode, version, flags

    DnsTestClient.Answer plain = udp(server(), query(61, PAYMENTS, A));
    DnsTestClient.Answer edns = udp(server(), query(62, PAYMENTS, A, 1232));
    DnsTestClient.Answer badVersion = udp(server(), v1);

    assertThat(plain.optPayloadSize()).isEqualTo(-1);
    assertThat(edns.optPayloadSize()).isEqualTo(DnsAnswers.UDP_PAYLOAD_SIZE);
    assertThat(edns.optExtendedRcode()).isZero();
    assertThat(badVersion.optExtendedRcode()).isEqualTo(1); // BADVERS = 16
    assertThat(badVersion.answerCount()).isZero();
  }

  @Test
  void beyondMaxPendingLookupsAQueryIsRefusedAtOnce() throws Exception {
    FakeResolver upstream = fake(FakeResolver.silent());
    DnsFilterConfig.Builder config = filter(TABLE, Duration.ofSeconds(5), upstream.address());
    config.getClientConfigBuilder().setMaxPendingLookups(1);
    serve(config.build());
    try (java.net.DatagramSocket client = new java.net.DatagramSocket(ANY_PORT)) {
      byte[] first = query(70, "slow.example.org", A);
      client.send(new java.net.DatagramPacket(first, first.length, server()));
      upstream.next();
      await().atMost(Duration.ofSeconds(5)).until(() -> proxy.pendingLookups() == 1);

      long start = System.nanoTime();
      DnsTestClient.Answer refused = udp(server(), query(71, "other.example.org", A));

      assertThat(refused.rcode()).isEqualTo(5); // REFUSED
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(1000L);
      assertThat(proxy.metrics().unansweredQueries("A", "overflow")).isEqualTo(1);
      // The table is still answered: the cap is on forwarding only.
      assertThat(udp(server(), query(72, PAYMENTS, A)).addresses()).hasSize(2);
    }
  }

  @Test
  void aNewTableIsServedOnTheSameSocketsAndALookupInFlightIsStillAnswered() throws Exception {
    FakeResolver upstream = fake(FakeResolver.silent());
    serve(filter(TABLE, Duration.ofSeconds(5), upstream.address()).build());
    InetSocketAddress before = server();
    try (java.net.DatagramSocket client = new java.net.DatagramSocket(ANY_PORT)) {
      client.setSoTimeout(5000);
      byte[] inFlight = query(80, "held.example.org", A);
      client.send(new java.net.DatagramPacket(inFlight, inFlight.length, server()));
      FakeResolver.Received held = upstream.next();

      DnsTable next =
          DnsTable.newBuilder().addVirtualDomains(domain("orders.shop", "10.0.0.9")).build();
      serve(filter(next, Duration.ofSeconds(5), upstream.address()).build());
      upstream.replyUdp(held, FakeResolver.answer(held.wire(), false, List.of("192.0.2.80")));

      java.net.DatagramPacket packet = new java.net.DatagramPacket(new byte[512], 512);
      client.receive(packet);
      DnsTestClient.Answer answer =
          DnsTestClient.decode(java.util.Arrays.copyOf(packet.getData(), packet.getLength()));
      assertThat(answer.id()).isEqualTo(80);
      assertThat(answer.addresses()).containsExactly("192.0.2.80");
    }
    assertThat(server()).isEqualTo(before);
    assertThat(udp(server(), query(81, "orders.shop", A)).addresses()).containsExactly("10.0.0.9");
    assertThat(proxy.status().names())
        .extracting(DnsProxy.Name::name)
        .containsExactly("orders.shop");
  }

  @Test
  void withoutTheListenerNothingIsServedAndANewAddressRebinds() throws Exception {
    serve(filter(TABLE, Duration.ofSeconds(2)).build());
    InetSocketAddress first = server();

    proxy.apply(Optional.empty());

    assertThat(proxy.address()).isEmpty();
    assertThat(proxy.status().serving()).isFalse();
    // NIO releases a socket registered with a selector at the loop's next select: wait for it.
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              try (Socket socket = new Socket()) {
                assertThatThrownBy(() -> socket.connect(first, 2000))
                    .isInstanceOf(ConnectException.class);
              }
            });

    serve(new InetSocketAddress("127.0.0.2", 0), filter(TABLE, Duration.ofSeconds(2)).build());
    assertThat(server().getAddress().getHostAddress()).isEqualTo("127.0.0.2");
    assertThat(udp(server(), query(90, PAYMENTS, A)).addresses()).hasSize(2);
    assertThat(tcp(server(), query(91, PAYMENTS, A)).get(0).addresses()).hasSize(2);
  }

  @Test
  void aPortThatIsTakenIsBoundOnceItIsFreeWhileTheConfigStands() throws Exception {
    InetSocketAddress taken;
    try (java.net.DatagramSocket holder = new java.net.DatagramSocket(ANY_PORT)) {
      taken = (InetSocketAddress) holder.getLocalSocketAddress();
      serve(taken, filter(TABLE, Duration.ofSeconds(2)).build());

      assertThat(proxy.address()).isEmpty();
      assertThat(proxy.status().serving()).isFalse();
      assertThat(proxy.status().error()).startsWith("cannot bind /127.0.0.1:" + taken.getPort());
    }

    await().atMost(Duration.ofSeconds(10)).until(() -> proxy.address().isPresent());
    assertThat(server()).isEqualTo(taken);
    assertThat(proxy.status().error()).isEmpty();
    assertThat(udp(server(), query(95, PAYMENTS, A)).addresses()).hasSize(2);
  }

  @Test
  void withoutResolversFromTheControllerTheNameserversOfResolvConfAreUsed() throws Exception {
    java.nio.file.Files.writeString(
        dir.resolve("resolv.conf"),
        "search shop.svc.cluster.local svc.cluster.local\nnameserver 127.0.0.53\n"
            + "options ndots:5 timeout:1 attempts:3\n");
    serve(filter(TABLE, Duration.ofSeconds(2)).build());

    DnsProxy.Status status = proxy.status();

    assertThat(status.serving()).isTrue();
    assertThat(status.resolvers()).containsExactly("127.0.0.53:53");
    assertThat(status.resolversFrom()).endsWith("resolv.conf");
    assertThat(status.names())
        .filteredOn(n -> n.name().equals(PAYMENTS))
        .singleElement()
        .satisfies(
            n -> assertThat(n.addresses()).containsExactly("10.0.0.1", "10.0.0.2", "fd00::1"));
  }

  @Test
  void onTheNativeTransportForwardingWorksTheSame() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Transports.nativeAvailable());
    EventLoopGroup epoll = Transports.eventLoopGroup(1);
    try {
      FakeResolver upstream = fake(FakeResolver.truncatingUdp("192.0.2.1", "192.0.2.2"));
      DnsProxy onEpoll =
          DnsProxy.create(epoll, executor, new PrometheusRegistry(), dir.resolve("resolv.conf"));
      try {
        onEpoll.apply(
            Optional.of(
                DnsListenerConfig.of(
                    listener(
                        ANY_PORT,
                        filter(TABLE, Duration.ofSeconds(2), upstream.address()).build()))));
        InetSocketAddress address = onEpoll.address().orElseThrow();
        assertThat(udp(address, query(1, PAYMENTS, A)).addresses()).hasSize(2);
        assertThat(udp(address, query(2, "e.example.org", A)).addresses())
            .containsExactly("192.0.2.1", "192.0.2.2");
        assertThat(tcp(address, query(3, "e.example.org", A)).get(0).addresses()).hasSize(2);
      } finally {
        onEpoll.close();
      }
    } finally {
      epoll.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** The query with an additional record of an unknown type whose data pads it to {@code size}. */
  private static byte[] withPadding(byte[] query, int size) {
    int data = size - query.length - 11;
    byte[] padded = java.util.Arrays.copyOf(query, size);
    padded[11] = 1; // ARCOUNT
    int at = query.length;
    padded[at] = 0; // root owner
    padded[at + 1] = (byte) 0xFF; // type 65280, private use
    padded[at + 2] = 0;
    padded[at + 4] = 1; // class IN
    padded[at + 9] = (byte) (data >> 8);
    padded[at + 10] = (byte) data;
    return padded;
  }
}
