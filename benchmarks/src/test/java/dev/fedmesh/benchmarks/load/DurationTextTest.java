package dev.fedmesh.benchmarks.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Durations print as the command line spells them, so the report repeats what was asked for. */
class DurationTextTest {
  @Test
  void printsTheUsualValuesAsTheyAreWritten() {
    for (String text : new String[] {"60s", "15s", "10s", "0s", "500ms", "1.5s", "2.25s"}) {
      assertThat(DurationText.format(DurationText.parse(text).orElseThrow())).isEqualTo(text);
    }
  }

  @Test
  void printsWholeMinutesAsSeconds() {
    assertThat(DurationText.format(Duration.ofMinutes(2))).isEqualTo("120s");
  }

  @Test
  void refusesOtherForms() {
    for (String text : new String[] {"10", "1.5m", "-5s", "10 s", "1e3s", "NaNs", "s", "10h"}) {
      assertThat(DurationText.parse(text)).as(text).isEmpty();
    }
  }
}
