package dev.fedmesh.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class EtcdBinaryTest {
  @Test
  void missingBinaryFailsWithTheInstallHint() {
    assertThatThrownBy(() -> EtcdBinary.locate(Map.of("FEDMESH_ETCD", "/nonexistent/etcd")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("etcd not found: run scripts/install-deps.sh");
  }

  @Test
  void findsEtcdOnThePath() {
    assertThat(EtcdBinary.locate(System.getenv()).getFileName()).hasToString("etcd");
  }
}
