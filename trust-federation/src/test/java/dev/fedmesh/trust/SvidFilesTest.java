package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A component's SVID on disk: written private, checked when read, read again when renewed. */
class SvidFilesTest {
  @TempDir Path dir;

  private final RootCa root = TestPki.root();
  private final ClusterCa ca = TestPki.cluster(root, "control-plane");

  @Test
  void aWatchedSetFollowsARenewalAndKeepsTheLastGoodOneThroughABrokenWrite() throws Exception {
    write(TestPki.workload(ca, "fedmesh-system", "fedmesh-controller"), 1);
    SvidFiles.Watched watched = SvidFiles.watch(dir, TestPki.CLOCK);
    assertThat(watched.id().uri())
        .isEqualTo("spiffe://fedmesh.local/ns/fedmesh-system/sa/fedmesh-controller");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("key.pem"))))
        .isEqualTo("rw-------");

    write(TestPki.workload(ca, "fedmesh-system", "fedmesh-renewed"), 2);
    assertThat(watched.credential().svid().id().path())
        .isEqualTo("/ns/fedmesh-system/sa/fedmesh-renewed");

    Files.writeString(dir.resolve(SvidFiles.CERT_CHAIN), "not a certificate");
    touch(3);
    assertThat(watched.credential().svid().id().path())
        .as("a broken write keeps the last good certificate")
        .isEqualTo("/ns/fedmesh-system/sa/fedmesh-renewed");
  }

  @Test
  void aKeyOfAnotherCertificateIsNamed() throws Exception {
    write(TestPki.workload(ca, "fedmesh-system", "fedmesh-controller"), 1);
    SvidCredential other = TestPki.workload(ca, "fedmesh-system", "other");
    Files.writeString(dir.resolve(SvidFiles.KEY), Pem.encode(other.privateKey()));

    assertThatThrownBy(() -> SvidFiles.read(dir, TestPki.CLOCK))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            dir.resolve("key.pem")
                + ": does not match the public key of "
                + dir.resolve("cert-chain.pem"));
    assertThatThrownBy(() -> SvidFiles.watch(dir.resolve("missing"), TestPki.CLOCK))
        .hasMessage(dir.resolve("missing/cert-chain.pem") + ": missing");
  }

  private void write(SvidCredential credential, int second) throws Exception {
    SvidFiles.write(dir, credential, List.of(root.certificate()));
    touch(second);
  }

  /** Gives every file a distinct modification time: some file systems count whole seconds. */
  private void touch(int second) throws Exception {
    FileTime time = FileTime.from(Instant.parse("2026-01-01T00:00:00Z").plusSeconds(second));
    for (String file : List.of(SvidFiles.CERT_CHAIN, SvidFiles.KEY, SvidFiles.ROOTS)) {
      Files.setLastModifiedTime(dir.resolve(file), time);
    }
  }
}
