package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.testkit.FakeClock;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SvidRotatorTest {
  private static final CallerIdentity CART = CallerIdentity.of("shop", "cart");

  private final FakeClock time = new FakeClock();
  private final Clock clock = time.clock();
  private final RootCa root = RootCa.generate(RootCaSpec.of(TestPki.DOMAIN), clock);
  private final ClusterCa east =
      root.issueIntermediate(IntermediateSpec.of(dev.fedmesh.model.ClusterName.of("east")), clock);
  private final SvidIssuer issuer = SvidIssuer.of(east, SvidPolicy.of(), clock);
  private final FlakyCa ca = new FlakyCa();
  private final List<SvidRotator> rotators = new ArrayList<>();
  private final List<SvidCredential> issued = new ArrayList<>();

  @AfterEach
  void closeRotators() {
    rotators.forEach(SvidRotator::close);
    time.runDueTasks();
    // Certificates issued on fake time: java-spiffe-core parses each one with its key.
    issued.forEach(TestPki::assertParsedBySpiffeLibrary);
  }

  @Test
  void getsACertificateAtStartAndRenewsItAtHalfLife() {
    SvidRotator rotator = rotator(RotationPolicy.of().withRenewAt(0.5, 0));
    rotator.start();
    time.runDueTasks();

    SvidCredential first = rotator.current().orElseThrow();
    assertThat(first.svid().id().uri()).isEqualTo("spiffe://fedmesh.local/ns/shop/sa/cart");
    Instant halfLife =
        first
            .svid()
            .notBefore()
            .plus(Duration.between(first.svid().notBefore(), first.svid().notAfter()).dividedBy(2));
    assertThat(rotator.nextAttempt()).contains(halfLife);

    time.forward(Duration.between(clock.instant(), halfLife).minusSeconds(1));
    assertThat(rotator.current()).contains(first);
    assertThat(ca.requests).isEqualTo(1);

    time.forward(Duration.ofSeconds(1));
    SvidCredential second = rotator.current().orElseThrow();
    assertThat(second.svid().leaf().getSerialNumber())
        .isNotEqualTo(first.svid().leaf().getSerialNumber());
    assertThat(second.privateKey())
        .as("a fresh key every rotation")
        .isNotEqualTo(first.privateKey());
    assertThat(second.svid().notBefore()).isEqualTo(halfLife.minus(Duration.ofMinutes(1)));
    assertThat(ca.requests).isEqualTo(2);
  }

  @Test
  void jitterSpreadsRenewalsBeforeHalfLife() {
    Set<Instant> renewals = new HashSet<>();
    for (int i = 0; i < 5; i++) {
      SvidRotator rotator = rotator(RotationPolicy.of());
      rotator.start();
      time.runDueTasks();
      X509Svid svid = rotator.current().orElseThrow().svid();
      Duration life = Duration.between(svid.notBefore(), svid.notAfter());
      Instant renewal = rotator.nextAttempt().orElseThrow();
      assertThat(renewal)
          .isBetween(
              svid.notBefore().plus(life.multipliedBy(4).dividedBy(10)),
              svid.notBefore().plus(life.dividedBy(2)));
      renewals.add(renewal);
    }
    assertThat(renewals).hasSizeGreaterThan(1);
  }

  @Test
  void keepsServingTheOldCertificateWhileRenewalFailsThenBacksOff() {
    SvidRotator rotator = rotator(RotationPolicy.of().withRenewAt(0.5, 0));
    rotator.start();
    time.runDueTasks();
    SvidCredential first = rotator.current().orElseThrow();
    ca.failing = true;

    time.forward(Duration.between(clock.instant(), rotator.nextAttempt().orElseThrow()));
    assertThat(rotator.consecutiveFailures()).isEqualTo(1);
    assertThat(rotator.current()).contains(first);
    List<Duration> delays = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      Duration delay = Duration.between(clock.instant(), rotator.nextAttempt().orElseThrow());
      delays.add(delay);
      time.forward(delay);
      assertThat(rotator.current()).contains(first);
    }
    assertThat(rotator.consecutiveFailures()).isEqualTo(10);
    // Equal jitter: each delay lies in [ceiling/2, ceiling], the ceiling doubling from 1s to 2m.
    for (int i = 0; i < delays.size(); i++) {
      long ceiling = Math.min(1000L << i, 120_000);
      assertThat(delays.get(i).toMillis()).as("delay %d", i).isBetween(ceiling / 2, ceiling);
    }

    ca.failing = false;
    time.forward(Duration.between(clock.instant(), rotator.nextAttempt().orElseThrow()));
    assertThat(rotator.consecutiveFailures()).isZero();
    assertThat(rotator.current().orElseThrow()).isNotEqualTo(first);
  }

  @Test
  void neverGoesWithoutAValidCertificateOverDaysOfRenewals() {
    SvidRotator rotator = rotator(RotationPolicy.of());
    List<BigInteger> serials = new ArrayList<>();
    rotator.addListener(credential -> serials.add(credential.svid().leaf().getSerialNumber()));
    rotator.start();
    time.runDueTasks();
    ca.failEvery = 3; // a CA that drops one request in three

    for (int step = 0; step < 3 * 24 * 12; step++) {
      time.forward(Duration.ofMinutes(5));
      Instant now = clock.instant();
      X509Svid svid = rotator.current().orElseThrow().svid();
      assertThat(now).as("at %s", now).isBetween(svid.notBefore(), svid.notAfter().minusSeconds(1));
    }
    assertThat(serials).hasSizeBetween(6, 9).doesNotHaveDuplicates();
  }

  @Test
  void anUnansweredRequestTimesOutAndIsRetried() {
    SvidRotator rotator = rotator(RotationPolicy.of().withRequestTimeout(Duration.ofSeconds(10)));
    ca.silent = true;
    rotator.start();
    time.runDueTasks();

    time.forward(Duration.ofSeconds(10));
    assertThat(rotator.consecutiveFailures()).isEqualTo(1);
    assertThat(rotator.current()).isEmpty();

    ca.silent = false;
    time.forward(Duration.between(clock.instant(), rotator.nextAttempt().orElseThrow()));
    assertThat(rotator.current()).isPresent();
    assertThat(rotator.consecutiveFailures()).isZero();
  }

  @Test
  void refusesACertificateForAnotherKey() {
    SvidRotator rotator =
        SvidRotator.builder(
                (csr, ttl) ->
                    CompletableFuture.completedFuture(
                        issuer.issue(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate()), CART)),
                time.scheduler())
            .clock(clock)
            .random(new SplittableRandom(1))
            .build();
    rotators.add(rotator);
    rotator.start();
    time.runDueTasks();

    assertThat(rotator.current()).isEmpty();
    assertThat(rotator.consecutiveFailures()).isEqualTo(1);
  }

  @Test
  void closeStopsRenewing() {
    SvidRotator rotator = rotator(RotationPolicy.of());
    rotator.start();
    time.runDueTasks();
    rotator.close();
    time.runDueTasks();

    time.forward(Duration.ofDays(2));
    assertThat(ca.requests).isEqualTo(1);
    assertThat(rotator.nextAttempt()).isEmpty();
    assertThat(time.pendingTasks()).isZero();
  }

  private SvidRotator rotator(RotationPolicy policy) {
    SvidRotator rotator =
        SvidRotator.builder(ca, time.scheduler())
            .clock(clock)
            .random(new SplittableRandom(rotators.size() + 7))
            .policy(policy)
            .build();
    rotators.add(rotator);
    rotator.addListener(issued::add);
    return rotator;
  }

  /** The cluster CA behind a network that can fail, drop requests or never answer. */
  private final class FlakyCa implements CsrSigner {
    int requests;
    boolean failing;
    boolean silent;
    int failEvery;

    @Override
    public CompletableFuture<X509Svid> sign(byte[] csrDer, Duration ttl) {
      requests++;
      if (silent) {
        return new CompletableFuture<>();
      }
      if (failing || (failEvery > 0 && requests % failEvery == 0)) {
        return CompletableFuture.failedFuture(new IllegalStateException("UNAVAILABLE: CA down"));
      }
      return CompletableFuture.completedFuture(issuer.issue(csrDer, CART, ttl));
    }
  }
}
