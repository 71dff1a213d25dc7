package dev.fedmesh.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.testkit.FakeClock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DebouncerTest {
  private static final Duration QUIET = Duration.ofMillis(100);
  private static final Duration MAX = Duration.ofSeconds(1);

  private final FakeClock clock = new FakeClock();
  private final AtomicInteger rebuilds = new AtomicInteger();
  private final Debouncer debouncer =
      new Debouncer(clock.scheduler(), clock.nanoTime(), QUIET, MAX, rebuilds::incrementAndGet);

  @Test
  void burstOfEventsIsOneRebuildAfterTheQuietPeriod() {
    debouncer.signal();
    clock.forward(Duration.ofMillis(50));
    debouncer.signal();
    clock.forward(Duration.ofMillis(50));
    debouncer.signal();

    clock.forward(Duration.ofMillis(99));
    assertThat(rebuilds).as("still inside the quiet period of the last event").hasValue(0);

    clock.forward(Duration.ofMillis(1));
    assertThat(rebuilds).hasValue(1);

    clock.forward(Duration.ofSeconds(10));
    assertThat(rebuilds).as("nothing new happened").hasValue(1);
  }

  @Test
  void clusterThatNeverQuietensIsStillRebuiltEveryMaxDelay() {
    for (int i = 0; i < 25; i++) {
      debouncer.signal();
      clock.forward(Duration.ofMillis(90));
    }

    assertThat(rebuilds).as("2.25 s of events 90 ms apart, at most 1 s each").hasValue(2);
  }

  @Test
  void eventAfterARebuildStartsANewQuietPeriod() {
    debouncer.signal();
    clock.forward(QUIET);
    assertThat(rebuilds).hasValue(1);

    debouncer.signal();
    clock.forward(Duration.ofMillis(99));
    assertThat(rebuilds).hasValue(1);
    clock.forward(Duration.ofMillis(1));
    assertThat(rebuilds).hasValue(2);
  }

  @Test
  void cancelledChangesAreNotRebuilt() {
    debouncer.signal();
    debouncer.cancel();

    clock.forward(Duration.ofSeconds(5));

    assertThat(rebuilds).hasValue(0);
    assertThat(clock.pendingTasks()).isZero();
  }

  @Test
  void maxDelayShorterThanTheQuietPeriodIsRefused() {
    assertThatThrownBy(
            () ->
                new Debouncer(
                    clock.scheduler(),
                    clock.nanoTime(),
                    Duration.ofSeconds(2),
                    Duration.ofSeconds(1),
                    () -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxDelay: PT1S (expected: >= the quiet period PT2S)");
  }
}
