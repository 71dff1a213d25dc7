package dev.fedmesh.proxyless;

import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.SpiffeTls;
import dev.fedmesh.trust.SvidFiles;
import dev.fedmesh.trust.SvidVerifier;
import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.xds.XdsCredentialsProvider;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code fedmesh_mtls} channel credentials for grpc-java's xDS client: mutual TLS to the
 * fedmesh controller with the application's SPIFFE certificate, checking that the server is the
 * controller (its SPIFFE ID, not a host name) under the mesh's roots. On the class path, it is
 * found by grpc-java's service loader; the bootstrap names it with the files, in the key names gRFC
 * A65 gives {@code tls} credentials:
 *
 * <pre>
 * "channel_creds": [{"type": "fedmesh_mtls", "config": {
 *     "certificate_file": "/var/run/fedmesh/cert-chain.pem",
 *     "private_key_file": "/var/run/fedmesh/key.pem",
 *     "ca_certificate_file": "/var/run/fedmesh/root-cert.pem"}}]
 * </pre>
 *
 * The files are read again when they change, so a rotated certificate is used for the next
 * connection.
 */
public final class MeshXdsCredentialsProvider extends XdsCredentialsProvider {
  public static final String NAME = "fedmesh_mtls";

  @Override
  protected ChannelCredentials newChannelCredentials(Map<String, ?> config) {
    Path certificate = file(config, "certificate_file");
    Path key = file(config, "private_key_file");
    Path roots = file(config, "ca_certificate_file");
    SvidFiles.Watched files = SvidFiles.watch(certificate, key, roots, Clock.systemUTC());
    return TlsChannelCredentials.newBuilder()
        .keyManager(SpiffeTls.keyManager(() -> Optional.of(files.credential())))
        .trustManager(
            SpiffeTls.trustManager(
                SvidVerifier.of(files::roots, Clock.systemUTC()), ControlPlaneTls.anyController()))
        .build();
  }

  private static Path file(Map<String, ?> config, String key) {
    Object value = config == null ? null : config.get(key);
    if (!(value instanceof String path) || path.isBlank()) {
      throw new IllegalArgumentException(
          "channel_creds[" + NAME + "].config." + key + ": missing (expected: a PEM file path)");
    }
    return Path.of(path);
  }

  @Override
  protected String getName() {
    return NAME;
  }

  @Override
  public boolean isAvailable() {
    return true;
  }

  @Override
  public int priority() {
    return 5;
  }
}
