package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The deadline timer, on an event loop whose clock the test moves. */
class DeadlineTest {
  private final EmbeddedChannel channel = new EmbeddedChannel();
  private final List<String> fired = new ArrayList<>();
  private final Runnable a = () -> fired.add("a");
  private final Runnable b = () -> fired.add("b");

  DeadlineTest() {
    channel.freezeTime();
  }

  @AfterEach
  void close() {
    channel.finishAndReleaseAll();
  }

  private void advanceMillis(long millis) {
    channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
    channel.runPendingTasks();
  }

  private Deadline deadline() {
    return new Deadline(channel.eventLoop());
  }

  @Test
  void firesOnceWhenItsTimeHasCome() {
    Deadline deadline = deadline();
    deadline.set(100, TimeUnit.MILLISECONDS, a);

    advanceMillis(99);
    assertThat(fired).isEmpty();
    advanceMillis(1);
    assertThat(fired).containsExactly("a");
    assertThat(deadline.isSet()).isFalse();
    advanceMillis(1_000);
    assertThat(fired).containsExactly("a");
  }

  @Test
  void setAgainMovesTheDeadlineLater() {
    Deadline deadline = deadline();
    deadline.set(100, TimeUnit.MILLISECONDS, a);
    advanceMillis(60);
    deadline.set(100, TimeUnit.MILLISECONDS, a); // due at 160 now

    advanceMillis(40); // 100: the first wake-up finds it early
    assertThat(fired).isEmpty();
    advanceMillis(59);
    assertThat(fired).isEmpty();
    advanceMillis(1);
    assertThat(fired).containsExactly("a");
  }

  @Test
  void anEarlierDeadlineIsNotHeldBackByALaterWakeUp() {
    Deadline deadline = deadline();
    deadline.set(10, TimeUnit.SECONDS, a);
    deadline.set(50, TimeUnit.MILLISECONDS, b);

    advanceMillis(50);
    assertThat(fired).containsExactly("b");
  }

  @Test
  void aClearedDeadlineDoesNotFireAndTheNextOneDoes() {
    Deadline deadline = deadline();
    deadline.set(100, TimeUnit.MILLISECONDS, a);
    deadline.clear(a);
    advanceMillis(150);
    assertThat(fired).isEmpty();

    deadline.set(100, TimeUnit.MILLISECONDS, b);
    advanceMillis(100);
    assertThat(fired).containsExactly("b");
  }

  @Test
  void clearingLeavesAnotherOwnersDeadlineSet() {
    Deadline deadline = deadline();
    deadline.set(100, TimeUnit.MILLISECONDS, b);
    deadline.clear(a); // a finished request clearing late

    advanceMillis(100);
    assertThat(fired).containsExactly("b");
  }

  @Test
  void stopCancelsTheWakeUp() {
    Deadline deadline = deadline();
    deadline.set(100, TimeUnit.MILLISECONDS, a);
    deadline.stop();

    assertThat(channel.runScheduledPendingTasks())
        .as("nothing left in the event loop's queue")
        .isEqualTo(-1);
    advanceMillis(1_000);
    assertThat(fired).isEmpty();
  }

  @Test
  void aRequestAfterAnotherAddsNoWakeUpOfItsOwn() {
    Deadline deadline = deadline();
    for (int i = 0; i < 1_000; i++) { // a keep-alive connection: a request a millisecond
      deadline.set(15, TimeUnit.SECONDS, a);
      deadline.clear(a);
      advanceMillis(1);
    }
    advanceMillis(14_000); // the one wake-up, due 15 s after the first request, finds nothing set

    assertThat(fired).isEmpty();
    assertThat(channel.runScheduledPendingTasks())
        .as("no wake-up left for the later requests")
        .isEqualTo(-1);
  }
}
