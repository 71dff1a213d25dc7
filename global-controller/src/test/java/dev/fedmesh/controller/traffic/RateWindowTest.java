package dev.fedmesh.controller.traffic;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RateWindowTest {
  private static final long SECOND = 1_000_000_000L;
  private final RateWindow<String> window = new RateWindow<>(Duration.ofSeconds(3));

  private static RateWindow.Counts counts(double requests, double errors) {
    return new RateWindow.Counts(requests, errors);
  }

  @Test
  void aRateIsTheIncreaseOverTheTimeBetweenTheOldestAndNewestSampleInTheWindow() {
    window.add("p1", 0, Map.of("a->b", counts(100, 0)));
    assertThat(window.rates(0)).as("one sample says nothing yet").isEmpty();

    window.add("p1", SECOND, Map.of("a->b", counts(120, 2)));
    window.add("p1", 2 * SECOND, Map.of("a->b", counts(140, 4)));

    assertThat(window.rates(2 * SECOND)).containsEntry("a->b", counts(20, 2));
  }

  @Test
  void ratesOfTheSameEdgeFromSeveralProxiesAreSummed() {
    window.add("p1", 0, Map.of("a->b", counts(0, 0)));
    window.add("p1", SECOND, Map.of("a->b", counts(10, 0)));
    window.add("p2", 0, Map.of("a->b", counts(5, 0)));
    window.add("p2", SECOND, Map.of("a->b", counts(10, 5)));

    assertThat(window.rates(SECOND)).containsEntry("a->b", counts(15, 5));
  }

  @Test
  void aCounterThatWentDownCountsFromZeroAsAfterARestart() {
    window.add("p1", 0, Map.of("a->b", counts(1000, 10)));
    window.add("p1", 2 * SECOND, Map.of("a->b", counts(40, 2)));

    assertThat(window.rates(2 * SECOND)).containsEntry("a->b", counts(20, 1));
  }

  @Test
  void anEdgeThatStoppedGrowingFadesOutAndASilentProxyDropsOut() {
    window.add("p1", 0, Map.of("a->b", counts(0, 0), "a->c", counts(0, 0)));
    window.add("p1", SECOND, Map.of("a->b", counts(10, 0), "a->c", counts(10, 0)));
    // a->c stops; a->b keeps going.
    window.add("p1", 4 * SECOND, Map.of("a->b", counts(40, 0), "a->c", counts(10, 0)));
    window.add("p1", 5 * SECOND, Map.of("a->b", counts(50, 0), "a->c", counts(10, 0)));

    assertThat(window.rates(5 * SECOND))
        .containsOnlyKeys("a->b")
        .containsEntry("a->b", counts(10, 0));

    // p1 is no longer scraped (its cluster was killed): once its samples age out, nothing is left.
    assertThat(window.rates(9 * SECOND)).isEmpty();
    assertThat(window.sources()).isZero();
  }
}
