package dev.fedmesh.controller.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.testkit.FakeClock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DebouncerTest {
  private final FakeClock clock = new FakeClock();
  private final AtomicInteger fired = new AtomicInteger();
  private final Debouncer debouncer =
      new Debouncer(
          clock.scheduler(),
          clock.nanoTime(),
          Duration.ofMillis(100),
          Duration.ofMillis(1000),
          fired::incrementAndGet);

  @Test
  void aBurstFiresOnceAfterTheQuietPeriod() {
    debouncer.signal();
    clock.forward(Duration.ofMillis(50));
    debouncer.signal();
    clock.forward(Duration.ofMillis(50));
    debouncer.signal();

    clock.forward(Duration.ofMillis(99));
    assertThat(fired).hasValue(0);
    clock.forward(Duration.ofMillis(1));
    assertThat(fired).hasValue(1);

    clock.forward(Duration.ofSeconds(10));
    assertThat(fired).hasValue(1);
  }

  @Test
  void aSteadyStreamOfChangesStillFiresAtTheMaximumDelay() {
    for (int i = 0; i < 25; i++) {
      debouncer.signal();
      clock.forward(Duration.ofMillis(50));
    }

    // 1250 ms of changes every 50 ms: never quiet, so only the 1000 ms cap fired it.
    assertThat(fired).hasValue(1);
  }

  @Test
  void rejectsAMaximumShorterThanTheQuietPeriod() {
    assertThatThrownBy(
            () ->
                new Debouncer(
                    clock.scheduler(),
                    clock.nanoTime(),
                    Duration.ofSeconds(1),
                    Duration.ofMillis(10),
                    () -> {}))
        .hasMessageContaining("maxDelay: PT0.01S (expected: >= quiet period PT1S)");
  }
}
