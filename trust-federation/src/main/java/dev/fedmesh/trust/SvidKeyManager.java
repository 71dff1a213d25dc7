package dev.fedmesh.trust;

import java.math.BigInteger;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents the workload's current SVID. The alias names the certificate's serial, so a handshake
 * that chose an alias before a rotation still gets that certificate's own key.
 */
final class SvidKeyManager extends X509ExtendedKeyManager {
  private static final String PREFIX = "svid-";

  private final Supplier<Optional<SvidCredential>> source;
  private final Map<String, SvidCredential> recent = new ConcurrentHashMap<>();

  SvidKeyManager(Supplier<Optional<SvidCredential>> source) {
    this.source = source;
  }

  private String alias(String[] keyTypes) {
    Optional<SvidCredential> credential = source.get();
    if (credential.isEmpty()) {
      return null;
    }
    String algorithm = credential.get().privateKey().getAlgorithm();
    boolean matches = keyTypes == null;
    if (keyTypes != null) {
      for (String keyType : keyTypes) {
        if (keyType.equals(algorithm)
            || (algorithm.equals("RSA") && keyType.equals("RSASSA-PSS"))) {
          matches = true;
          break;
        }
      }
    }
    if (!matches) {
      return null;
    }
    BigInteger serial = credential.get().svid().leaf().getSerialNumber();
    String alias = PREFIX + serial.toString(16);
    if (!recent.containsKey(alias)) {
      if (recent.size() > 4) {
        recent.clear(); // keep only current ones; handshakes in flight re-choose on a miss
      }
      recent.put(alias, credential.get());
    }
    return alias;
  }

  private SvidCredential credential(String alias) {
    SvidCredential known = alias == null ? null : recent.get(alias);
    if (known != null) {
      return known;
    }
    return source.get().orElse(null);
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String alias = alias(new String[] {keyType});
    return alias == null ? null : new String[] {alias};
  }

  @Override
  public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
    return alias(keyTypes);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
    return alias(keyTypes);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return getClientAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return alias(new String[] {keyType});
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return alias(new String[] {keyType});
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    SvidCredential credential = credential(alias);
    return credential == null ? null : credential.svid().chain().toArray(X509Certificate[]::new);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    SvidCredential credential = credential(alias);
    return credential == null ? null : credential.privateKey();
  }
}
