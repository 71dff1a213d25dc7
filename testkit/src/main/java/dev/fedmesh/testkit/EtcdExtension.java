package dev.fedmesh.testkit;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs a real etcd for tests. Registered on a static field it serves the whole class; on an
 * instance field each test gets a fresh one.
 *
 * <pre>{@code
 * @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();
 * }</pre>
 *
 * <p>A test that needs etcd on a machine without it fails with {@value EtcdBinary#MISSING}.
 */
public final class EtcdExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
  private final int size;
  private EtcdCluster cluster;
  private boolean perClass;

  private EtcdExtension(int size) {
    this.size = size;
  }

  public static EtcdExtension singleNode() {
    return new EtcdExtension(1);
  }

  public static EtcdExtension cluster(int size) {
    return new EtcdExtension(size);
  }

  /** The running cluster. */
  public EtcdCluster cluster() {
    if (cluster == null) {
      throw new IllegalStateException("etcd is not running outside a test");
    }
    return cluster;
  }

  /** Client URLs joined by commas. */
  public String endpoints() {
    return cluster().endpoints();
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    perClass = true;
    cluster = EtcdCluster.start(size);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    stop();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (!perClass) {
      cluster = EtcdCluster.start(size);
    } else {
      // A test may have stopped or killed members; each test starts with all of them up.
      cluster.members().stream().filter(m -> !m.isRunning()).forEach(EtcdMember::restart);
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (!perClass) {
      stop();
    }
  }

  private void stop() {
    if (cluster != null) {
      cluster.close();
      cluster = null;
    }
  }
}
