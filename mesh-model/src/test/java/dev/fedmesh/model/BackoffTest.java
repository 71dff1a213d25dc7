package dev.fedmesh.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static final Duration BASE = Duration.ofMillis(100);
  private static final Duration MAX = Duration.ofSeconds(1);

  @Test
  void delaysDoubleFromBaseUpToMax() {
    Backoff backoff = new Backoff(BASE, MAX, new HighestDraw());

    assertThat(millis(backoff, 7)).containsExactly(100L, 200L, 400L, 800L, 1000L, 1000L, 1000L);
  }

  @Test
  void resetStartsOverFromBase() {
    Backoff backoff = new Backoff(BASE, MAX, new HighestDraw());
    millis(backoff, 4);

    backoff.reset();

    assertThat(millis(backoff, 3)).containsExactly(100L, 200L, 400L);
  }

  @Test
  void delaysAreJitteredBetweenZeroAndTheCeiling() {
    Backoff backoff = new Backoff(BASE, MAX, new SplittableRandom(42));
    long[] ceilings = {100, 200, 400, 800, 1000};
    Set<Long> atMax = new HashSet<>();

    for (int attempt = 0; attempt < 50; attempt++) {
      long delay = backoff.next().toMillis();
      long ceiling = ceilings[Math.min(attempt, ceilings.length - 1)];
      assertThat(delay).as("attempt %d", attempt).isBetween(0L, ceiling);
      if (ceiling == 1000) {
        atMax.add(delay);
      }
    }
    assertThat(atMax).as("capped delays still vary").hasSizeGreaterThan(1);
  }

  @Test
  void manyFailuresStayAtMax() {
    Backoff backoff = new Backoff(BASE, MAX, new HighestDraw());

    assertThat(millis(backoff, 100)).last().isEqualTo(1000L);
  }

  @Test
  void baseMustBePositive() {
    assertThatThrownBy(() -> new Backoff(Duration.ZERO, MAX, new HighestDraw()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("base: PT0S (expected: > 0)");
    assertThatThrownBy(() -> new Backoff(Duration.ofMillis(-5), MAX, new HighestDraw()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("base: PT-0.005S (expected: > 0)");
  }

  @Test
  void maxMustNotBeBelowBase() {
    assertThatThrownBy(() -> new Backoff(BASE, Duration.ofMillis(50), new HighestDraw()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("max: PT0.05S (expected: >= base PT0.1S)");
  }

  @Test
  void maxEqualToBaseMeansAConstantCeiling() {
    Backoff backoff = new Backoff(BASE, BASE, new HighestDraw());

    assertThat(millis(backoff, 3)).containsExactly(100L, 100L, 100L);
  }

  private static List<Long> millis(Backoff backoff, int count) {
    List<Long> delays = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      delays.add(backoff.next().toMillis());
    }
    return delays;
  }

  /** Always draws the top of the requested range, so each delay is the ceiling itself. */
  private static final class HighestDraw implements RandomGenerator {
    @Override
    public long nextLong() {
      throw new UnsupportedOperationException("Backoff draws bounded values only");
    }

    @Override
    public long nextLong(long bound) {
      return bound - 1;
    }
  }
}
