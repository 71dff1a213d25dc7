package dev.fedmesh.controller.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceKey;
import org.junit.jupiter.api.Test;

class KeyLayoutTest {
  private static final ClusterName EAST = ClusterName.of("east");

  @Test
  void keysParseBackToWhatTheyName() {
    ServiceKey service = ServiceKey.of("shop", "checkout");

    assertThat(KeyLayout.endpoints(EAST, service))
        .isEqualTo("/fedmesh/v1/endpoints/east/shop/checkout");
    assertThat(KeyLayout.parse(KeyLayout.endpoints(EAST, service)))
        .contains(new KeyLayout.EndpointsKey(EAST, service));
    assertThat(KeyLayout.parse(KeyLayout.cluster(EAST))).contains(new KeyLayout.ClusterKey(EAST));
    assertThat(KeyLayout.parse(KeyLayout.session(EAST))).contains(new KeyLayout.SessionKey(EAST));
  }

  @Test
  void keysOutsideTheLayoutAreIgnored() {
    assertThat(KeyLayout.parse("/fedmesh/v2/clusters/east")).isEmpty();
    assertThat(KeyLayout.parse("/fedmesh/v1/clusters/east/extra")).isEmpty();
    assertThat(KeyLayout.parse("/fedmesh/v1/endpoints/east/only-namespace")).isEmpty();
    assertThat(KeyLayout.parse("/fedmesh/v1/clusters/Not_A_Label")).isEmpty();
  }
}
